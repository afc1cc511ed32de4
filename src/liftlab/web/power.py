"""The power calculator page: the API's question as a form, its answer as a table.

A question changes nothing, so the form is a GET (a plan can be bookmarked and shared) and
every member may use it. The fields become the API's request body and go through the same
``liftlab.planning.questions.answer``; each refusal is shown next to the field it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render

from liftlab.analysis.definition import Aggregation
from liftlab.analysis.power import PowerError
from liftlab.experiments.models import Metric
from liftlab.planning.presenters import design_rows, question_words
from liftlab.planning.questions import answer
from liftlab.web.access import environment_access
from liftlab.web.views import store_errors_as_503

FORM_ERROR = "form"
"""Where a refusal of the question as a whole is shown: above the form."""


@dataclass(frozen=True)
class Field:
    """A number field of the form: its input name, label, help and default text."""

    name: str
    label: str
    help: str
    default: str = ""
    integer: bool = False


BASELINE = (
    Field("mean", "Baseline mean per identity", "for a conversion, its rate (0.12 for 12 %)"),
    Field("variance", "Variance per identity", "of the per-identity numbers; empty for a rate"),
)
MEASURED = (Field("days", "Days looked back", "for a metric's baseline", "28", integer=True),)
EFFECT = (
    Field("mde", "Smallest change to detect", "0.05 is 5 % on the relative scale", "0.05"),
    Field("alpha", "Significance level α", "two-sided", "0.05"),
    Field("power", "Power", "the chance of detecting that change", "0.8"),
)
TRAFFIC = (
    Field("daily_traffic", "Identities per day", "entering the experiment; empty: the metric's"),
    Field(
        "sequential_tuning",
        "Sequential tuning (identities)",
        "where the sequential interval is narrowest",
        "5000",
    ),
    Field("identities", "Also the change detectable with", "identities (optional)", integer=True),
)
NUMBERS = (*BASELINE, *MEASURED, *EFFECT, *TRAFFIC)
WEIGHTS_HELP = "every variant's share, control first, on any scale: 50, 25, 25"
ON_FIELDS = {
    "baseline": "mean",
    "baseline.mean": "mean",
    "baseline.variance": "variance",
    "baseline.conversion": "conversion",
    "baseline.metric": "metric",
    "baseline.days": "days",
    "question": FORM_ERROR,
}
"""The form field each refused path of the request is shown next to (else its first part)."""


class FormErrors(ValueError):
    """Fields whose text is not even a number: refused before any question is asked."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _number(form: QueryDict, field: Field, errors: dict[str, str]) -> float | int | None:
    text = form.get(field.name, "").strip()
    if not text:
        return None
    try:
        return int(text) if field.integer else float(text)
    except ValueError:
        errors[field.name] = "must be a whole number" if field.integer else "must be a number"
        return None


def request_body(form: QueryDict) -> dict[str, Any]:
    """The API's request body from the submitted form; ``FormErrors`` for text not a number."""
    errors: dict[str, str] = {}
    numbers = {field.name: _number(form, field, errors) for field in NUMBERS}
    try:
        weights = [float(part) for part in form.get("weights", "").split(",")]
    except ValueError:
        errors["weights"] = "must be numbers separated by commas, such as 50, 50"
    metric = form.get("metric", "")
    if metric and not metric.isdigit():
        errors["metric"] = "must be one of the metrics listed"
    if errors:
        raise FormErrors(errors)
    if metric:
        baseline: dict[str, Any] = {"metric": int(metric)}
        if numbers["days"] is not None:
            baseline["days"] = numbers["days"]
    else:
        conversion = form.get("conversion") == "on"
        baseline = {"mean": numbers["mean"], "conversion": conversion}
        if not conversion:
            baseline["variance"] = numbers["variance"]
    body = {name: numbers[name] for name in ("mde", "daily_traffic", "identities")}
    body |= {
        name: numbers[name]
        for name in ("alpha", "power", "sequential_tuning")
        if numbers[name] is not None
    }
    return {
        **body,
        "baseline": baseline,
        "weights": weights,
        "scale": form.get("scale", "relative"),
        "correction": form.get("correction", "bonferroni"),
        "sequential": form.get("sequential") == "on",
    }


def on_fields(errors: dict[str, str]) -> dict[str, str]:
    """The request's refusals by form field (several paths may land on one: the first wins)."""
    shown: dict[str, str] = {}
    for path, message in errors.items():
        name = ON_FIELDS.get(path, path.split(".")[0])
        shown.setdefault(name, message)
    return shown


@dataclass(frozen=True)
class Bound:
    """A number field with what was typed in it and the refusal shown next to it."""

    field: Field
    value: str
    error: str | None


@dataclass(frozen=True)
class Group:
    """A fieldset of the form; ``key`` says which of the page's other inputs it holds."""

    key: str
    legend: str
    fields: list[Bound]


GROUPS = (
    ("baseline", "Baseline", BASELINE),
    ("metric", "Or read the baseline from a metric", MEASURED),
    ("change", "The change", EFFECT),
    ("traffic", "Traffic and design", TRAFFIC),
)


def groups(form: QueryDict, errors: dict[str, str]) -> list[Group]:
    return [
        Group(
            key,
            legend,
            [Bound(f, form.get(f.name, f.default), errors.get(f.name)) for f in fields],
        )
        for key, legend, fields in GROUPS
    ]


@login_required
@store_errors_as_503
def calculator(request: HttpRequest, key: str) -> HttpResponse:
    access = environment_access(request, key)
    metrics = (
        Metric.objects.alive()
        .filter(environment=access.environment)
        .exclude(aggregation=Aggregation.QUANTILE)
        .order_by("name")
    )
    form = request.GET
    errors: dict[str, str] = {}
    result = None
    if "mde" in form:
        try:
            result = answer(access.environment, request_body(form))
        except (FormErrors, PowerError) as exc:
            errors = on_fields(exc.errors)
    context = {
        "access": access,
        "metrics": metrics,
        "groups": groups(form, errors),
        "weights": form.get("weights", "50, 50"),
        "weights_help": WEIGHTS_HELP,
        "checked": {name: form.get(name) == "on" for name in ("conversion", "sequential")},
        "chosen": {name: form.get(name, "") for name in ("scale", "correction", "metric")},
        "errors": errors,
        "result": result,
        "question": result and question_words(result),
        "rows": result and design_rows(result),
    }
    return render(request, "web/power.html", context)
