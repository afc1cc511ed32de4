"""A power question as a request: its baseline typed in, or read for one of the metrics.

``PowerPlan`` is ``PowerQuestion`` whose ``baseline`` may also be ``{"metric": id, "days":
28}``: the metric's per-identity mean and variance over the identities active in the
environment in those days (``liftlab.analysis.baseline``), whose count over the days is then the
traffic unless the request gives its own. ``answer`` turns either into a ``PowerResponse``, or
raises ``PowerError`` naming the field, for the API, the CLI and the page alike.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.conf import settings
from pydantic import Discriminator, Field, Tag, ValidationError

from liftlab.accounts.models import Environment
from liftlab.analysis.baseline import (
    DEFAULT_DAYS,
    MAX_DAYS,
    Baseline,
    BaselineUnsupported,
    Window,
    query_baseline,
)
from liftlab.analysis.definition import MetricType, parse_definition
from liftlab.analysis.filters import Strict
from liftlab.analysis.power import (
    MAX_NUMBER,
    MIN_TRAFFIC,
    BaselineNumbers,
    PowerAnswer,
    PowerError,
    PowerQuestion,
    field_errors,
    plan,
)
from liftlab.analysis.spec import MetricSpec
from liftlab.eventstore import open_store
from liftlab.experiments.models import Metric

TYPED, MEASURED = "typed", "measured"


class MetricBaseline(Strict):
    """Read the baseline of one of the environment's metrics from its events."""

    metric: int = Field(ge=1, le=2**63 - 1, description="the metric's id")
    days: int = Field(DEFAULT_DAYS, ge=1, le=MAX_DAYS, description="the days looked back")


def _baseline_kind(value: Any) -> str:
    """An object naming a ``metric`` asks for the measured baseline; anything else is typed."""
    return MEASURED if isinstance(value, dict) and "metric" in value else TYPED


class PowerPlan(PowerQuestion):
    """A power question whose baseline may be read from the event store."""

    baseline: Annotated[
        Annotated[BaselineNumbers, Tag(TYPED)] | Annotated[MetricBaseline, Tag(MEASURED)],
        Discriminator(_baseline_kind),
    ]
    daily_traffic: float | None = Field(  # type: ignore[assignment]
        None,
        ge=MIN_TRAFFIC,
        le=MAX_NUMBER,
        allow_inf_nan=False,
        description="identities entering the experiment per day; with a metric's baseline, "
        "its active identities per day by default",
    )


class Measured(Strict):
    """What was read for a metric's baseline."""

    metric: int
    days: int
    identities: int = Field(description="identities active in those days")
    daily_traffic: float = Field(description="identities / days: an experiment's enrolment")
    cap: float | None = Field(description="the cap applied to each identity's number")


class PowerResponse(PowerAnswer):
    """The answer, and where a measured baseline came from (null when typed in)."""

    measured: Measured | None = None


def parse_request(raw: Any) -> PowerPlan:
    try:
        return PowerPlan.model_validate(raw)
    except ValidationError as exc:
        raise PowerError(field_errors(exc, frozenset({TYPED, MEASURED}))) from None


def answer(environment: Environment, raw: Any) -> PowerResponse:
    """The answer to a decoded JSON request, in ``environment``; ``PowerError`` by field."""
    request = parse_request(raw)
    measured = None
    if isinstance(request.baseline, MetricBaseline):
        measured = measure(environment, request.baseline)
    if request.daily_traffic is None and measured is None:
        raise PowerError({"daily_traffic": "is required when the baseline is typed in"})
    asked = request.model_dump(exclude={"baseline", "daily_traffic"})
    if measured is None:
        question = PowerQuestion(
            **asked, baseline=request.baseline, daily_traffic=request.daily_traffic
        )
        return PowerResponse(**plan(question).model_dump())
    question = PowerQuestion(
        **asked,
        baseline=_numbers(measured, request.baseline),
        daily_traffic=request.daily_traffic or measured.daily_traffic,  # ≥ 2 identities a year
    )
    source = _measured(measured, request.baseline)
    return PowerResponse(**plan(question).model_dump(), measured=source)


def measure(environment: Environment, asked: MetricBaseline) -> Baseline:
    """The metric's baseline over the days asked, from the configured event store."""
    metric = Metric.objects.alive().filter(environment=environment, pk=asked.metric).first()
    if metric is None:
        raise PowerError({"baseline.metric": "no metric with this id in the environment"})
    spec = MetricSpec(str(metric.pk), metric.aggregation, parse_definition(metric.definition))
    store = open_store(settings.EVENTSTORE_URL)
    try:
        return query_baseline(environment.key, spec, store.query, Window.until_now(asked.days))
    except BaselineUnsupported as exc:
        raise PowerError({"baseline.metric": str(exc)}) from None


def _numbers(baseline: Baseline, asked: MetricBaseline) -> BaselineNumbers:
    """The measured mean and variance as a typed baseline; too little data is refused."""
    conversion = baseline.metric_type is MetricType.CONVERSION
    numbers = {"conversion": conversion, "mean": baseline.mean}
    if not conversion:
        numbers["variance"] = baseline.variance
    try:
        return BaselineNumbers.model_validate(numbers)
    except ValidationError:
        raise PowerError(
            {
                "baseline.metric": f"its {baseline.identities} identities active in the last "
                f"{asked.days} days give no baseline to plan from (mean {baseline.mean:g}, "
                f"variance {baseline.variance:g}); type one in, or look back further"
            }
        ) from None


def _measured(baseline: Baseline, asked: MetricBaseline) -> Measured:
    return Measured(
        metric=asked.metric,
        days=asked.days,
        identities=baseline.identities,
        daily_traffic=baseline.daily_traffic,
        cap=baseline.cap,
    )
