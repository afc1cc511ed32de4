"""The metric library, experiments, metric attachments and frozen results.

Invariants that the database can hold are constraints here; the rest live in
``serializers.py`` (input) and ``services.py`` (transitions).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from liftlab.accounts.models import Environment
from liftlab.analysis.definition import Aggregation, MetricType
from liftlab.analysis.spec import MAX_LOOKBACK_DAYS
from liftlab.vocabulary import (
    EXPOSURE_EVENT,
    ExpectedDirection,
    MetricRole,
    choices,
)


class SoftDeleteQuerySet(models.QuerySet):
    def alive(self) -> SoftDeleteQuerySet:
        return self.filter(deleted_at__isnull=True)


class Metric(models.Model):
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="metrics")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    metric_type = models.CharField(max_length=20, choices=choices(MetricType))
    aggregation = models.CharField(max_length=20, choices=choices(Aggregation))
    higher_is_better = models.BooleanField(default=True)
    # What a mean of the metric is counted in, for the pages: "ms", "s", "count" or a currency
    # code ("USD"); empty for none. Display only: no figure is computed from it.
    unit = models.CharField(max_length=8, blank=True, default="")
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "name"],
                condition=Q(deleted_at__isnull=True),
                name="metric_name_unique_per_environment",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def adjustable(self) -> bool:
        """Whether regression adjustment (CUPED) applies: every aggregation but a quantile,
        which has no per-identity mean to regress on a pre-exposure covariate."""
        return self.aggregation != Aggregation.QUANTILE


# New attachments of an adjustable metric look back this many days before each identity's
# first exposure for its covariate, unless the request says otherwise.
DEFAULT_LOOKBACK_DAYS = 14


class ExperimentStatus(models.TextChoices):
    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"


class Experiment(models.Model):
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, related_name="experiments"
    )
    name = models.CharField(max_length=200)
    hypothesis = models.TextField(blank=True, default="")
    feature_name = models.CharField(max_length=200)
    variants = models.JSONField()
    control_variant = models.CharField(max_length=200)
    exposure_event = models.CharField(max_length=200, default=EXPOSURE_EVENT)
    # ``liftlab.analysis.settings.AnalysisSettings`` as JSON; {} means every default.
    analysis = models.JSONField(default=dict)
    # When an analysis setting last changed after the experiment had started (shown as such).
    analysis_changed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=ExperimentStatus.choices, default=ExperimentStatus.DRAFT
    )
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "feature_name"],
                condition=Q(deleted_at__isnull=True) & ~Q(status="completed"),
                name="one_open_experiment_per_flag",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def variant_keys(self) -> list[str]:
        return [v["key"] for v in self.variants]


class ExperimentMetric(models.Model):
    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="experiment_metrics"
    )
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="attachments")
    expected_direction = models.CharField(max_length=20, choices=choices(ExpectedDirection))
    role = models.CharField(max_length=20, choices=choices(MetricRole), default=MetricRole.PRIMARY)
    # Relative harm a guardrail tolerates (0.01: 1 % worse); null takes the default of 1 %.
    non_inferiority_margin = models.FloatField(null=True, blank=True)
    # Regression adjustment (CUPED): the days before first exposure whose events give each
    # identity its covariate; null: no adjustment (quantile metrics, and attachments made
    # before adjustment existed, whose results stay as they were).
    lookback_days = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "metric"], name="attach_metric_once"),
            models.CheckConstraint(
                condition=Q(lookback_days__isnull=True)
                | Q(lookback_days__gte=1, lookback_days__lte=MAX_LOOKBACK_DAYS),
                name="lookback_days_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric} on {self.experiment}"


class ResultCache(models.Model):
    """The latest results of a running or paused experiment, recomputed on demand.

    ``fingerprint`` covers everything the document depends on besides the events (the
    attached metrics, variants, alpha...), so a change of configuration is never served stale.
    """

    experiment = models.OneToOneField(
        Experiment, on_delete=models.CASCADE, related_name="result_cache"
    )
    fingerprint = models.CharField(max_length=64)
    computed_at = models.DateTimeField()
    document = models.JSONField()


class ResultSnapshot(models.Model):
    """The frozen results of a completed experiment: the document without its metrics.

    ``summary`` keeps the ``schema_version`` it was made with; documents frozen before
    versions existed have none and are version 1.
    """

    experiment = models.OneToOneField(
        Experiment, on_delete=models.CASCADE, related_name="result_snapshot"
    )
    computed_at = models.DateTimeField()
    summary = models.JSONField()


class MetricResultSnapshot(models.Model):
    """One attached metric's frozen result (variants, comparisons, verdict)."""

    snapshot = models.ForeignKey(
        ResultSnapshot, on_delete=models.CASCADE, related_name="metric_results"
    )
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()
    result = models.JSONField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "metric"], name="one_result_per_metric")
        ]
