"""Breakdown dimensions: which property of an identity's first exposure splits the results.

An experiment names up to three. Each identity falls in one segment per dimension: the value
the dimension reads on its first exposure event (a trait, the SDK's language or version, or a
metadata path), as text; segments are exploratory (corrected across segments, never a decision).
"""

from __future__ import annotations

import builtins
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from liftlab.analysis.filters import Name, Strict, error

MAX_BREAKDOWNS = 3
TOP_SEGMENTS = 20
"""Segments shown per dimension, by exposures; the rest are grouped as ``other``."""
OTHER = "other"
MISSING = "(not set)"
"""The segment of identities whose first exposure does not carry the dimension."""


class Source(StrEnum):
    """Where on the exposure event a dimension's value is read."""

    TRAIT = "trait"
    METADATA = "metadata"
    SDK_LANGUAGE = "sdk_language"
    SDK_VERSION = "sdk_version"


NAMED = frozenset({Source.TRAIT, Source.METADATA})
"""Sources that need a property name (a trait or a metadata path)."""


class Breakdown(Strict):
    """One dimension: ``{"source": "trait", "property": "country"}`` or ``{"source":
    "sdk_language"}``."""

    source: Annotated[Source, Field(strict=False)]
    property: Name | None = Field(
        default=None, description="trait name or metadata path; only for trait and metadata"
    )

    @model_validator(mode="after")
    def _property_fits_source(self) -> Breakdown:
        if self.source in NAMED and self.property is None:
            raise error("property_missing", f"{self.source.value} breakdowns name a property")
        if self.source not in NAMED and self.property is not None:
            raise error("property_forbidden", f"{self.source.value} breakdowns have no property")
        return self

    @builtins.property  # the field ``property`` shadows the builtin in this class body
    def key(self) -> str:
        """How the API names it (``?breakdown=country``): the property, or the source."""
        return self.property if self.property is not None else self.source.value
