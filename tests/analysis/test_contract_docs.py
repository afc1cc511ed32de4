"""docs/results.md documents every field of the result document, so the doc cannot drift."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from liftlab.analysis import contract
from liftlab.analysis.settings import AnalysisSettings, BayesianPrior

DOC = (Path(__file__).parents[2] / "docs" / "results.md").read_text()
MODELS = [
    m
    for m in vars(contract).values()
    if isinstance(m, type) and issubclass(m, BaseModel) and m.__module__ == contract.__name__
]


@pytest.mark.parametrize(
    "model", [*MODELS, AnalysisSettings, BayesianPrior], ids=lambda m: m.__name__
)
def test_every_field_is_documented(model: type[BaseModel]) -> None:
    missing = [name for name in model.model_fields if f"`{name}`" not in DOC]
    assert not missing, f"{model.__name__}: {missing} not in docs/results.md"
