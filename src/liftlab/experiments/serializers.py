"""Input rules for metrics, experiments and attachments: a clear 400 naming each field."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from liftlab.analysis.definition import (
    Aggregation,
    DefinitionError,
    MetricDefinition,
    MetricType,
    check_metric,
    metric_type_for,
    parse_definition,
)
from liftlab.analysis.settings import AnalysisSettings, SettingsError, parse_settings
from liftlab.analysis.spec import MAX_LOOKBACK_DAYS
from liftlab.api.validators import (
    IntegerField,
    NumberField,
    PrimaryKeyField,
    StrictFieldsMixin,
    StrictModelSerializer,
    TextField,
    json_without_nul,
)
from liftlab.experiments.models import (
    DEFAULT_LOOKBACK_DAYS,
    Experiment,
    ExperimentMetric,
    ExperimentStatus,
    Metric,
)
from liftlab.vocabulary import EXPOSURE_EVENT, judged_as_guardrail

IMMUTABLE_METRIC_FIELDS = ("definition", "aggregation", "metric_type")
METRIC_UNITS = ("", "count", "ms", "s")
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
DRAFT_ONLY_EXPERIMENT_FIELDS = ("feature_name", "variants", "control_variant", "exposure_event")
MAX_VARIANTS = 20
WEIGHT_TOLERANCE = 1e-9
# A first start may be dated back (a flag served before the experiment was set up here), but
# not to before this: nothing this service analyses is older, and year 1 is a typo.
EARLIEST_START = datetime(2000, 1, 1, tzinfo=UTC)


def _non_blank(value: str) -> str:
    if not value.strip():
        raise serializers.ValidationError("must not be blank.")
    return value


class DefinitionField(serializers.JSONField):
    """A metric's definition, of any version ``liftlab.analysis.definition`` reads.

    Validated in ``MetricSerializer.validate``, together with the aggregation, so that every
    problem is keyed by its dotted path; ``liftlab.api.schema`` publishes its JSON Schema.
    """


class MetricSerializer(StrictModelSerializer):
    name = TextField(max_length=200, validators=[_non_blank])
    description = TextField(max_length=10_000, required=False, allow_blank=True)
    metric_type = serializers.ChoiceField(choices=[t.value for t in MetricType], required=False)
    aggregation = serializers.ChoiceField(choices=[a.value for a in Aggregation])
    unit = serializers.CharField(
        max_length=8,
        required=False,
        allow_blank=True,
        help_text='What a mean is counted in, shown after it on the pages: "ms", "s", "count" '
        'or a three-letter currency code ("USD"); empty for none.',
    )
    definition = DefinitionField(
        help_text="Which events count and how: version 1, or version 2 with a cap, a quantile "
        "or a ratio's numerator and denominator. Never changes once the metric exists."
    )

    class Meta:
        model = Metric
        fields = [
            "id",
            "name",
            "description",
            "metric_type",
            "aggregation",
            "higher_is_better",
            "unit",
            "definition",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def validate_unit(self, value: str) -> str:
        if value in METRIC_UNITS or CURRENCY_CODE.fullmatch(value):
            return value
        raise serializers.ValidationError(
            f"must be one of {', '.join(repr(u) for u in METRIC_UNITS if u)}, a three-letter "
            "currency code in capitals (e.g. 'USD') or empty."
        )

    def validate_name(self, value: str) -> str:
        environment = self.context["environment"]
        taken = Metric.objects.alive().filter(environment=environment, name=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError("a metric with this name already exists here.")
        return value

    def validate(self, attrs: dict) -> dict:
        """A new metric: its definition, the aggregation over it and the type they imply.

        The definition is stored in its canonical form and in its own version (a version-1
        document stays version 1).
        """
        if self.instance is not None:
            return self._validate_change(attrs)
        aggregation = attrs["aggregation"]
        definition = _parse_definition(attrs["definition"])
        problems = check_metric(aggregation, definition)
        derived = metric_type_for(aggregation).value
        if attrs.setdefault("metric_type", derived) != derived:
            message = f"must be '{derived}' for aggregation '{aggregation}'."
            problems.append({"path": "metric_type", "message": message})
        if problems:
            raise serializers.ValidationError(_by_path(problems))
        attrs["definition"] = definition.to_json()
        return attrs

    def _validate_change(self, attrs: dict) -> dict:
        changed = {
            field: "cannot be changed once the metric exists; create a new metric instead."
            for field in IMMUTABLE_METRIC_FIELDS
            if field in attrs and attrs[field] != getattr(self.instance, field)
        }
        if changed:
            raise serializers.ValidationError(changed)
        return attrs


def _parse_definition(raw: Any) -> MetricDefinition:
    """Validate a definition; errors are keyed by their full path (``definition.filters.0.op``)."""
    json_without_nul(raw, "definition")
    try:
        return parse_definition(raw)
    except DefinitionError as exc:
        raise serializers.ValidationError(_by_path(exc.errors)) from exc


def _by_path(problems: list[dict[str, str]]) -> dict[str, list[str]]:
    """An error body from ``{"path", "message"}`` problems: each path with all its messages."""
    body: dict[str, list[str]] = {}
    for problem in problems:
        body.setdefault(problem["path"], []).append(problem["message"])
    return body


class VariantSerializer(StrictFieldsMixin, serializers.Serializer):
    key = TextField(max_length=200, validators=[_non_blank])
    # The share of traffic: a JSON number in (0, 1]; all the variants' weights sum to 1.
    weight = NumberField(exclusive_minimum=0, maximum=1)


@extend_schema_field(AnalysisSettings)
class AnalysisField(serializers.JSONField):
    """An experiment's analysis settings; a change names only the fields it changes.

    Validation happens in ``ExperimentSerializer.validate`` (against the stored settings, so
    a partial change keeps the rest), where errors get their dotted paths.
    """

    def to_representation(self, value: Any) -> dict:
        return parse_settings(value).to_json()


class ExperimentSerializer(StrictModelSerializer):
    name = TextField(max_length=200, validators=[_non_blank])
    hypothesis = TextField(max_length=10_000, required=False, allow_blank=True)
    feature_name = TextField(max_length=200, validators=[_non_blank])
    variants = VariantSerializer(many=True)
    control_variant = TextField(max_length=200, required=False)
    exposure_event = TextField(max_length=200, required=False, validators=[_non_blank])
    analysis = AnalysisField(required=False)

    class Meta:
        model = Experiment
        fields = [
            "id",
            "name",
            "hypothesis",
            "feature_name",
            "variants",
            "control_variant",
            "exposure_event",
            "analysis",
            "analysis_changed_at",
            "status",
            "started_at",
            "ended_at",
            "created_at",
        ]
        read_only_fields = [
            "id",
            "analysis_changed_at",
            "status",
            "started_at",
            "ended_at",
            "created_at",
        ]

    def validate_variants(self, variants: list[dict]) -> list[dict]:
        if not 2 <= len(variants) <= MAX_VARIANTS:
            raise serializers.ValidationError(f"needs between 2 and {MAX_VARIANTS} variants.")
        keys = [v["key"] for v in variants]
        if len(set(keys)) != len(keys):
            raise serializers.ValidationError("variant keys must be unique.")
        total = math.fsum(v["weight"] for v in variants)
        if abs(total - 1) > WEIGHT_TOLERANCE:
            raise serializers.ValidationError(f"weights must sum to 1 (they sum to {total!r}).")
        return [{"key": v["key"], "weight": v["weight"]} for v in variants]

    def validate(self, attrs: dict) -> dict:
        if self.instance is not None:
            self._refuse_changes_after_draft(attrs)
        if "analysis" in attrs:
            attrs.update(self._analysis_change(attrs["analysis"]))
        variants = attrs.get("variants", getattr(self.instance, "variants", None))
        keys = [v["key"] for v in variants]
        control = attrs.get("control_variant", getattr(self.instance, "control_variant", None))
        if control is None or ("variants" in attrs and "control_variant" not in attrs):
            control = control if control in keys else keys[0]
        if control not in keys:
            raise serializers.ValidationError(
                {"control_variant": "must be one of the variant keys."}
            )
        attrs["control_variant"] = control
        self._refuse_second_open_experiment(attrs)
        return attrs

    def _analysis_change(self, raw: Any) -> dict:
        """The validated settings, merged over the stored ones; a change after start is dated.

        Completed experiments keep the settings their frozen results were computed with.
        """
        if not isinstance(raw, dict):
            raise serializers.ValidationError({"analysis": "must be an object."})
        json_without_nul(raw, "analysis")
        stored = parse_settings(getattr(self.instance, "analysis", None)).to_json()
        try:
            merged = parse_settings({**stored, **raw}).to_json()
        except SettingsError as exc:
            raise serializers.ValidationError(
                {f"analysis.{path}".removesuffix(".analysis"): m for path, m in exc.errors.items()}
            ) from exc
        status = getattr(self.instance, "status", ExperimentStatus.DRAFT)
        if merged == stored or status == ExperimentStatus.DRAFT:
            return {"analysis": merged}
        if status == ExperimentStatus.COMPLETED:
            raise serializers.ValidationError(
                {
                    "analysis": "cannot change once the experiment is completed; "
                    "its results are final."
                }
            )
        return {"analysis": merged, "analysis_changed_at": timezone.now()}

    def _refuse_changes_after_draft(self, attrs: dict) -> None:
        if self.instance.status == ExperimentStatus.DRAFT:
            return
        changed = {
            field: f"can only change while the experiment is a draft "
            f"(it is {self.instance.status})."
            for field in DRAFT_ONLY_EXPERIMENT_FIELDS
            if field in attrs and attrs[field] != getattr(self.instance, field)
        }
        if changed:
            raise serializers.ValidationError(changed)

    def _refuse_second_open_experiment(self, attrs: dict) -> None:
        if getattr(self.instance, "status", None) == ExperimentStatus.COMPLETED:
            return  # a completed experiment no longer holds its flag: renaming it is fine
        feature_name = attrs.get("feature_name", getattr(self.instance, "feature_name", None))
        open_ones = (
            Experiment.objects.alive()
            .filter(environment=self.context["environment"], feature_name=feature_name)
            .exclude(status=ExperimentStatus.COMPLETED)
        )
        if self.instance is not None:
            open_ones = open_ones.exclude(pk=self.instance.pk)
        if open_ones.exists():
            raise serializers.ValidationError(
                {"feature_name": "another experiment on this flag is not completed yet."}
            )

    def create(self, validated_data: dict) -> Experiment:
        validated_data.setdefault("exposure_event", EXPOSURE_EVENT)
        return super().create(validated_data)


class EnvironmentMetricField(PrimaryKeyField):
    """A live metric of the experiment's environment, by id.

    Any other id (none such, deleted, or another environment's) gets the same answer, so an
    admin cannot learn which ids exist elsewhere.
    """

    default_error_messages = {"does_not_exist": "no metric with id {pk_value} in this environment."}

    def get_queryset(self):
        experiment = self.parent.context["experiment"]
        return Metric.objects.alive().filter(environment_id=experiment.environment_id)


class VarianceReductionSerializer(StrictFieldsMixin, serializers.Serializer):
    """Regression adjustment (CUPED): each identity's covariate is the same metric over the
    ``lookback_days`` before its first exposure."""

    lookback_days = IntegerField(min_value=1, max_value=MAX_LOOKBACK_DAYS)

    def to_internal_value(self, data: Any) -> int:
        """The attachment keeps only the number of days (``ExperimentMetric.lookback_days``).

        A partial update (PATCH) makes nested fields optional, but ``{}`` still says nothing
        about the days, so they stay required here.
        """
        values = super().to_internal_value(data)
        if "lookback_days" not in values:
            raise serializers.ValidationError({"lookback_days": ["This field is required."]})
        return values["lookback_days"]

    def to_representation(self, instance: int) -> dict[str, int]:
        return {"lookback_days": instance}


class ExperimentMetricSerializer(StrictModelSerializer):
    metric = EnvironmentMetricField()
    metric_name = serializers.CharField(source="metric.name", read_only=True)
    aggregation = serializers.CharField(source="metric.aggregation", read_only=True)
    non_inferiority_margin = NumberField(
        minimum=0, exclusive_maximum=1, allow_null=True, required=False
    )
    variance_reduction = VarianceReductionSerializer(
        source="lookback_days",
        allow_null=True,
        required=False,
        help_text=f"Null: no adjustment. A new attachment takes {DEFAULT_LOOKBACK_DAYS} days "
        "unless its metric is a quantile, which cannot be adjusted.",
    )

    class Meta:
        model = ExperimentMetric
        fields = [
            "id",
            "metric",
            "metric_name",
            "aggregation",
            "expected_direction",
            "role",
            "non_inferiority_margin",
            "variance_reduction",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs: dict) -> dict:
        experiment: Experiment = self.context["experiment"]
        if experiment.status == ExperimentStatus.COMPLETED:
            raise serializers.ValidationError(
                {"experiment": "is completed; its metrics can no longer change."}
            )
        self._margin_needs_a_guardrail(attrs)
        if self.instance is not None:
            if "metric" in attrs and attrs["metric"] != self.instance.metric:
                raise serializers.ValidationError(
                    {"metric": "cannot be changed; detach and attach another metric."}
                )
            _adjustment_fits(self.instance.metric, attrs)
            return attrs
        metric: Metric = attrs["metric"]
        if experiment.experiment_metrics.filter(metric=metric).exists():
            raise serializers.ValidationError({"metric": "is already attached to this experiment."})
        attrs.setdefault("lookback_days", DEFAULT_LOOKBACK_DAYS if metric.adjustable else None)
        _adjustment_fits(metric, attrs)
        return attrs

    def _margin_needs_a_guardrail(self, attrs: dict) -> None:
        """Only guardrails and "no change" metrics are judged by non-inferiority."""

        def current(name: str) -> Any:
            return attrs.get(name, getattr(self.instance, name, None))

        if current("non_inferiority_margin") is None:
            return
        if judged_as_guardrail(current("role"), current("expected_direction")):
            return
        raise serializers.ValidationError(
            {
                "non_inferiority_margin": "applies to guardrails and no_change metrics only; "
                "set role guardrail or leave the margin out."
            }
        )


def _adjustment_fits(metric: Metric, attrs: dict) -> None:
    """An explicit lookback on a metric that cannot be adjusted is a mistake to name, not a
    setting to drop without a word."""
    if attrs.get("lookback_days") is None or metric.adjustable:
        return
    raise serializers.ValidationError(
        {
            "variance_reduction": f"a {metric.aggregation} metric cannot be "
            "regression-adjusted; use null."
        }
    )


class StartSerializer(StrictFieldsMixin, serializers.Serializer):
    started_at = serializers.DateTimeField(
        required=False,
        help_text="A first start may be dated back, to 2000-01-01 at the earliest; never ahead.",
    )

    def validate_started_at(self, value: datetime) -> datetime:
        if value < EARLIEST_START:
            raise serializers.ValidationError("must not be before 2000-01-01T00:00:00Z.")
        if value > timezone.now():
            raise serializers.ValidationError("must not be in the future.")
        return value
