"""People, an environment with metrics and experiments, and stored result documents.

Results are placed where ``liftlab.experiments.results`` keeps them (the running experiment's
cache, the completed experiment's snapshot), so the pages read them through the real code path
without an event store; the browser test computes them from real events instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from liftlab.accounts.models import Environment, Membership, Role
from liftlab.experiments import results
from liftlab.experiments.models import (
    Experiment,
    ExperimentMetric,
    Metric,
    MetricResultSnapshot,
    ResultCache,
    ResultSnapshot,
)

PASSWORD = "correct horse battery staple"


def make_user(name: str, *, password: str | None = None, superuser: bool = False):
    user = get_user_model()(username=name, is_superuser=superuser)
    user.set_password(password) if password else user.set_unusable_password()
    user.save()
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def environment(db) -> Environment:
    return Environment.objects.create(name="Shop")


@pytest.fixture
def admin(environment):
    user = make_user("ada")
    Membership.objects.create(environment=environment, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def viewer(environment):
    user = make_user("vic")
    Membership.objects.create(environment=environment, user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def outsider(db):
    return make_user("otto")


@pytest.fixture
def metrics(environment) -> dict[str, Metric]:
    checkout = Metric.objects.create(
        environment=environment,
        name="Checkout",
        metric_type="conversion",
        aggregation="occurrence",
        definition={
            "version": 1,
            "event": "purchase",
            "value": None,
            "filters": [],
            "window": None,
        },
    )
    latency = Metric.objects.create(
        environment=environment,
        name="Latency",
        metric_type="numeric",
        aggregation="sum",
        higher_is_better=False,
        definition={
            "version": 1,
            "event": "page_load",
            "value": "ms",
            "filters": [{"property": "page", "op": "eq", "value": "cart"}],
            "window": {"hours": 24},
        },
    )
    return {"checkout": checkout, "latency": latency}


def new_experiment(environment, metrics, *, status="running", flag="new-cart", **fields):
    started = timezone.now() - timedelta(days=3) if status != "draft" else None
    experiment = Experiment.objects.create(
        environment=environment,
        name=fields.pop("name", "New cart"),
        hypothesis="A one-page cart makes more people buy.",
        feature_name=flag,
        variants=[{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        control_variant="control",
        status=status,
        started_at=started,
        **fields,
    )
    ExperimentMetric.objects.create(
        experiment=experiment, metric=metrics["checkout"], expected_direction="increase"
    )
    ExperimentMetric.objects.create(
        experiment=experiment,
        metric=metrics["latency"],
        expected_direction="no_change",
        role="guardrail",
    )
    return experiment


@pytest.fixture
def experiment(environment, metrics) -> Experiment:
    return new_experiment(environment, metrics)


def cache_document(experiment: Experiment, document: dict, *, age=timedelta(0)) -> None:
    """Store a document as the running experiment's up-to-date cached result."""
    ResultCache.objects.create(
        experiment=experiment,
        fingerprint=results.fingerprint(experiment),
        computed_at=timezone.now() - age,
        document=document,
    )


def freeze_document(experiment: Experiment, document: dict) -> None:
    """Store a document as the completed experiment's frozen snapshot."""
    snapshot = ResultSnapshot.objects.create(
        experiment=experiment,
        computed_at=datetime.fromisoformat(document["computed_at"]),
        summary={k: v for k, v in document.items() if k != "metrics"},
    )
    for position, metric in enumerate(document["metrics"]):
        MetricResultSnapshot.objects.create(
            snapshot=snapshot, metric_id=metric["metric"], position=position, result=metric
        )
