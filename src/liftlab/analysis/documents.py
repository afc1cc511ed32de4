"""Reading a stored result document of any schema version."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, RootModel

from liftlab.analysis.contract import ResultDocument
from liftlab.analysis.contract_v1 import ResultDocumentV1, upgrade


class AnyResultDocument(
    RootModel[Annotated[ResultDocument | ResultDocumentV1, Field(discriminator="schema_version")]]
):
    """What the results endpoint may serve: the current document, or a version-1 snapshot."""


def versioned(data: dict[str, Any]) -> dict[str, Any]:
    """A stored document with its version said: documents from before versions are 1."""
    return data if "schema_version" in data else {**data, "schema_version": 1}


def as_current(data: dict[str, Any], control: str) -> ResultDocument:
    """Any stored document read as the current model, for the page and the CLI."""
    parsed = AnyResultDocument.model_validate(versioned(data)).root
    return parsed if isinstance(parsed, ResultDocument) else upgrade(parsed, control)
