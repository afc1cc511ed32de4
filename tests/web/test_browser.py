"""The experiment page in a real headless Chromium, on results computed from real events.

Events go into the process' embedded event store; the results engine computes the document;
the page is read the way a person reads it (text of the cards, the charts plotly drew) and the
numbers are checked against what the raw data says (rates, lifts, cumulative identities).
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from tests.web.browser import chromium_page, needs_chromium, screenshot
from tests.web.conftest import PASSWORD, make_user

from liftlab.accounts.models import Environment, Membership, Role
from liftlab.eventstore import StoredEvent, open_store
from liftlab.experiments.models import Experiment, ExperimentMetric, Metric
from liftlab.experiments.results import results_for

pytestmark = [pytest.mark.browser, needs_chromium]

PER_VARIANT = 400
DAYS = 4
BUYERS = {"control": 60, "treatment": 120}  # 15.0% and 30.0%: a relative lift of +100.0%


def event(env_key: str, name: str, who: str, at, *, flag: str = "", value: str = "") -> StoredEvent:
    return StoredEvent(
        environment_key=env_key,
        event=name,
        feature_name=flag,
        identifier=who,
        value=value,
        timestamp=at,
        collected_at=at,
        traits="{}",
        metadata="{}",
        sdk_language="python",
        sdk_version="test",
        event_id=uuid.uuid4(),
    )


def first_day(variant: str, i: int) -> int:
    """Control: 100 new identities a day; treatment: 80, 80, 80, then 160 on the last day."""
    return i % DAYS if variant == "control" else min(i % 5, DAYS - 1)


def cumulative(variant: str) -> list[int]:
    """Identities exposed so far at the end of each day, counted from the raw data."""
    days = [first_day(variant, i) for i in range(PER_VARIANT)]
    return [sum(d <= day for d in days) for day in range(DAYS)]


def record_events(env_key: str, start) -> None:
    """Each variant's identities, exposed over four days; the first few of each buy."""
    rows = []
    for variant, buyers in BUYERS.items():
        for i in range(PER_VARIANT):
            who = f"{variant}-{i}"
            seen = start + timedelta(days=first_day(variant, i), hours=1)
            rows.append(event(env_key, "$flag_exposure", who, seen, flag="new-cart", value=variant))
            if i < buyers:
                rows.append(event(env_key, "purchase", who, seen + timedelta(hours=1), value="10"))
    open_store(settings.EVENTSTORE_URL).insert(rows)


@pytest.fixture
def shop(transactional_db):
    """An admin with a password, and a running experiment with its events recorded."""
    admin = make_user("ada", password=PASSWORD)
    environment = Environment.objects.create(name="Shop")
    Membership.objects.create(environment=environment, user=admin, role=Role.ADMIN)
    purchase = Metric.objects.create(
        environment=environment,
        name="Purchase",
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
    start = timezone.now() - timedelta(days=DAYS + 1)
    experiment = Experiment.objects.create(
        environment=environment,
        name="One-page cart",
        hypothesis="A one-page cart makes more people buy.",
        feature_name="new-cart",
        variants=[{"key": "control", "weight": 0.5}, {"key": "treatment", "weight": 0.5}],
        control_variant="control",
        status="running",
        started_at=start,
    )
    ExperimentMetric.objects.create(
        experiment=experiment, metric=purchase, expected_direction="increase"
    )
    record_events(environment.key, start)
    return experiment


def plotted(page, selector: str) -> list[dict]:
    """The traces plotly drew in an element (its ``data``, as the browser holds it)."""
    page.wait_for_selector(f"{selector}.js-plotly-plot .main-svg")
    return json.loads(page.eval_on_selector(selector, "el => JSON.stringify(el.data)"))


def cells(row_text: str) -> list[str]:
    """A table row's cells as the browser renders them (tab-separated), whitespace collapsed."""
    return [" ".join(cell.split()) for cell in row_text.split("\t")]


def sign_in(page, base: str) -> None:
    page.goto(base + "/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def test_experiment_page_shows_real_results_and_completes(live_server, shop):
    document = results_for(shop)  # computed from the events above, then cached for the page
    comparison = document["metrics"][0]["comparisons"][0]
    key = shop.environment.key
    url = live_server.url + reverse("web:experiment", kwargs={"key": key, "pk": shop.pk})
    with chromium_page() as page:
        sign_in(page, live_server.url)
        screenshot(page, "environments")
        page.goto(live_server.url + reverse("web:experiments", kwargs={"key": key}))
        assert cells(page.inner_text("table.experiments tbody tr"))[-2:] == ["800", "Win Purchase"]
        screenshot(page, "experiments")

        page.goto(url)
        rows = page.locator(f"#metric-{document['metrics'][0]['metric']} tbody tr")
        control_row, treatment_row = rows.all_inner_texts()
        assert cells(control_row)[:3] == ["control control", "400", "15.0%"]
        treatment = cells(treatment_row)
        assert treatment[:3] == ["treatment", "400", "30.0%"]
        assert treatment[3].startswith("+15.0 pp") and treatment[4].startswith("+100.0%")
        assert treatment[5:] == ["< 0.001", "Win"]

        exposures = plotted(page, ".exposure-chart")
        assert [t["name"] for t in exposures] == ["control", "treatment"]
        assert [t["y"] for t in exposures] == [cumulative(v) for v in BUYERS]

        (forest,) = plotted(page, ".forest")
        assert forest["x"] == [pytest.approx(1.0)] and forest["y"] == ["treatment"]
        low, high = comparison["relative_ci"]
        assert forest["x"][0] - forest["error_x"]["arrayminus"][0] == pytest.approx(low)
        assert forest["x"][0] + forest["error_x"]["array"][0] == pytest.approx(high)
        assert page.locator(".forest .point").count() == 1
        screenshot(page, "experiment-running")

        page.click("summary:has-text('Complete…')")
        page.click("button:has-text('Complete experiment')")
        page.wait_for_selector(".banner-final")
        assert page.inner_text("h1 .final") == "Final"
        assert page.inner_text("h1 .status") == "Completed"
        assert page.locator(".actions button").count() == 0
        assert "+100.0%" in page.inner_text(".metric-card")
        screenshot(page, "experiment-completed")

        page.goto(live_server.url + reverse("web:metrics", kwargs={"key": key}))
        assert "identities with at least one purchase" in page.inner_text("table.metrics")
        screenshot(page, "metric-library")
    shop.refresh_from_db()
    assert shop.status == "completed" and shop.result_snapshot is not None
