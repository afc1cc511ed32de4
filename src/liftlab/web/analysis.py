"""The page's form for an experiment's analysis settings.

The change itself is ``liftlab.experiments.services.change_analysis``, which ``liftlab
analysis`` uses too: the form only turns its fields into the API's ``PATCH`` body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, QueryDict
from rest_framework.exceptions import ValidationError

from liftlab import formatting
from liftlab.analysis.breakdowns import MAX_BREAKDOWNS, Source
from liftlab.analysis.settings import AnalysisSettings, Engine, parse_settings
from liftlab.api.exceptions import error_lines
from liftlab.experiments.models import Experiment, ExperimentStatus
from liftlab.experiments.services import change_analysis
from liftlab.stats import Correction, Scale

# The form's number fields: (input name, settings path).
NUMBERS = (
    ("alpha", ("alpha",)),
    ("sequential_tuning", ("sequential_tuning",)),
    ("chance_to_win_threshold", ("chance_to_win_threshold",)),
    ("prior_mean", ("prior", "mean")),
    ("prior_sd", ("prior", "sd")),
)
CHOICES = (("engine", Engine), ("scale", Scale), ("correction", Correction))
SOURCE_NAMES = {
    Source.TRAIT: "a trait",
    Source.METADATA: "a metadata path",
    Source.SDK_LANGUAGE: "the SDK's language",
    Source.SDK_VERSION: "the SDK's version",
}


class FormError(ValueError):
    """A field of the form that is not even of the right kind (a number that is not one)."""


def submitted_changes(form: QueryDict, stored: AnalysisSettings) -> dict[str, Any]:
    """The settings the form sets differently from the stored ones (the API's PATCH body).

    Every field is on the form; an empty prior sd means a flat prior, an unticked box False.
    Values are passed on as typed, so the serializer says what is wrong with them.
    """
    current = stored.to_json()
    submitted: dict[str, Any] = {name: form.get(name, current[name]) for name, _ in CHOICES}
    submitted["sequential"] = form.get("sequential") == "on"
    submitted["prior"] = dict(current["prior"])
    for name, path in NUMBERS:
        text = form.get(name, "").strip()
        if name == "prior_sd" and not text:
            value = None
        elif not text:
            continue  # left empty: unchanged
        else:
            value = _number(name, text)
        if len(path) == 2:
            submitted["prior"][path[1]] = value
        else:
            submitted[path[0]] = value
    submitted["breakdowns"] = submitted_breakdowns(form)
    return {key: value for key, value in submitted.items() if value != current[key]}


def submitted_breakdowns(form: QueryDict) -> list[dict[str, Any]]:
    """The form's breakdown rows as the API's ``breakdowns`` list, in order.

    A row left blank (no source, no property) is no dimension; any other row is passed on as
    typed (an empty property as none), so the serializer refuses it with the API's words
    ("analysis.breakdowns.0.property: trait breakdowns name a property").
    """
    rows = []
    for i in range(MAX_BREAKDOWNS):
        source = form.get(f"breakdown_source_{i}", "").strip()
        name = form.get(f"breakdown_property_{i}", "").strip()
        if source or name:
            rows.append({"source": source, "property": name or None})
    return rows


def submit(request: HttpRequest, experiment: Experiment) -> None:
    """Apply the page's form as the signed-in admin; what happened is told as a message."""
    stored = parse_settings(experiment.analysis)
    try:
        changes = submitted_changes(request.POST, stored)
    except FormError as exc:
        messages.error(request, f"Nothing changed: {exc}")
        return
    if not changes:
        messages.info(request, "Nothing changed: the settings already are so.")
        return
    try:
        saved = change_analysis(experiment, changes, request.user)
    except ValidationError as exc:
        messages.error(request, "Nothing changed: " + "; ".join(error_lines(exc.detail)))
        return
    text = formatting.changed_fields(stored.to_json(), parse_settings(saved.analysis).to_json())
    after_start = saved.status != ExperimentStatus.DRAFT
    note = " The experiment has started, so its results now say the analysis changed."
    messages.success(request, f"Analysis settings saved: {text}.{note if after_start else ''}")


def _number(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise FormError(f"{name}: {text!r} is not a number.") from None


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    selected: bool


@dataclass(frozen=True)
class AnalysisForm:
    """The form's fields, filled with the stored settings."""

    engines: list[Option]
    scales: list[Option]
    corrections: list[Option]
    sequential: bool
    sequential_tuning: str
    alpha: str
    prior_mean: str
    prior_sd: str
    chance_to_win_threshold: str
    after_start: bool  # a change now is a change after the start, and is shown as such
    breakdowns: list[BreakdownRow] = field(default_factory=list)


@dataclass(frozen=True)
class BreakdownRow:
    """One of the form's breakdown rows: a source to pick and a property to type."""

    index: int
    sources: list[Option]
    property: str


def _options(vocabulary, chosen, names: dict | None = None) -> list[Option]:
    return [
        Option(item.value, (names or {}).get(item, formatting.label(item.value)), item == chosen)
        for item in vocabulary
    ]


def analysis_form(experiment: Experiment) -> AnalysisForm | None:
    """The form for an experiment whose settings may still change (``None`` once completed)."""
    if experiment.status == ExperimentStatus.COMPLETED:
        return None
    settings = parse_settings(experiment.analysis)
    return AnalysisForm(
        engines=_options(Engine, settings.engine),
        scales=_options(Scale, settings.scale),
        corrections=_options(Correction, settings.correction, formatting.CORRECTION_NAMES),
        sequential=settings.sequential,
        sequential_tuning=repr(settings.sequential_tuning),
        alpha=repr(settings.alpha),
        prior_mean=repr(settings.prior.mean),
        prior_sd="" if settings.prior.sd is None else repr(settings.prior.sd),
        chance_to_win_threshold=repr(settings.chance_to_win_threshold),
        after_start=experiment.status != ExperimentStatus.DRAFT,
        breakdowns=breakdown_rows(settings),
    )


def breakdown_rows(settings: AnalysisSettings) -> list[BreakdownRow]:
    """Three rows, filled with the stored dimensions in order, the rest blank."""
    stored = list(settings.breakdowns)
    rows = []
    for i in range(MAX_BREAKDOWNS):
        chosen = stored[i] if i < len(stored) else None
        sources = [Option("", "none", chosen is None)] + [
            Option(s.value, SOURCE_NAMES[s], chosen is not None and chosen.source is s)
            for s in Source
        ]
        name = chosen.property if chosen is not None and chosen.property else ""
        rows.append(BreakdownRow(i, sources, name))
    return rows
