"""The experiment page in a real headless Chromium, on results computed from real events.

Events go into the process' embedded event store; the results engine computes the document;
the page is read the way a person reads it (text of the cards, the charts' shapes and tables)
and the numbers are checked against what the raw data says (rates, lifts, cumulative identities).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from tests.web import documents
from tests.web.browser import chromium_page, needs_chromium, screenshot
from tests.web.conftest import (
    PASSWORD,
    cache_document,
    freeze_document,
    make_user,
    new_experiment,
)

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


def chart_table(page, selector: str) -> list[list[str]]:
    """A chart's numbers as its hidden table gives them to a screen reader, row by row."""
    return page.eval_on_selector_all(
        f"{selector} table.chart-data tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))",
    )


def cells(row_text: str) -> list[str]:
    """A table row's cells as the browser renders them (tab-separated), whitespace collapsed."""
    return [" ".join(cell.split()) for cell in row_text.split("\t")]


def sign_in(page, base: str) -> None:
    page.goto(base + "/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def unlabelled_controls(page) -> list[str]:
    """Form controls a screen reader could not name (no label, no aria-label)."""
    return page.eval_on_selector_all(
        "input:not([type=hidden]), select, textarea",
        "els => els.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))"
        ".map(e => e.name || e.outerHTML)",
    )


def test_experiment_page_shows_real_results_changes_analysis_and_completes(live_server, shop):
    document = results_for(shop)  # computed from the events above, then cached for the page
    comparison = document["metrics"][0]["comparisons"][0]
    key = shop.environment.key
    url = live_server.url + reverse("web:experiment", kwargs={"key": key, "pk": shop.pk})
    with chromium_page() as page:
        sign_in(page, live_server.url)
        screenshot(page, "environments")
        page.goto(live_server.url + reverse("web:experiments", kwargs={"key": key}))
        listed = cells(page.inner_text("table.experiments tbody tr"))
        assert listed[-4:-2] == ["800", "treatment: Ship"]
        assert listed[-2].startswith("ok p = ")
        assert listed[-1] == "ok"  # no guardrail, none failed
        screenshot(page, "experiments")

        page.goto(url)
        decision = page.inner_text("section.decisions")
        assert "treatment Ship" in " ".join(decision.split())
        assert "primary metric 'Purchase' won" in decision
        rows = page.locator(f"#metric-{document['metrics'][0]['metric']} table.results tbody tr")
        control_row, treatment_row, reason_row = rows.all_inner_texts()
        assert cells(control_row)[:4] == ["control control", "400", "15.0%", "baseline"]
        treatment = cells(treatment_row)
        assert treatment[:3] == ["treatment", "400", "30.0%"]
        assert treatment[3].startswith("+100.0% [") and treatment[4].startswith("+15.0 pp [")
        assert treatment[5:7] == ["< 0.001", "< 0.001"]
        assert treatment[7] == "Win"
        assert " ".join(reason_row.split()) == f"Why treatment is win: {comparison['reason']}"
        assert "95 % CI" in page.inner_text(".metric-card thead")
        assert page.inner_text("section.analysis dd >> nth=0") == "frequentist, fixed horizon"

        exposures = chart_table(page, ".exposures figure.chart")
        assert [[int(n.replace(",", "")) for n in row[1:]] for row in exposures] == [
            list(day) for day in zip(*(cumulative(v) for v in BUYERS), strict=True)
        ]
        assert page.locator(".exposures svg .line").count() == 2

        forest = page.locator(".metric-card svg.forest")
        assert forest.locator(".mark").count() == 1
        assert forest.locator("desc").text_content().startswith("treatment: +100.0% [")
        box = forest.bounding_box()
        assert box["width"] > 300 and box["height"] > 40  # drawn, at the card's width
        assert unlabelled_controls(page) == []
        screenshot(page, "experiment-running")

        page.click("summary:has-text('Change analysis settings…')")
        page.select_option("#analysis-engine", "bayesian")
        page.fill("#analysis-threshold", "0.9")
        screenshot(page, "analysis-settings-form", "section.analysis")
        page.click("button:has-text('Save analysis settings')")
        page.wait_for_selector(".message-success")
        assert 'engine "frequentist" → "bayesian"' in page.inner_text(".message-success")
        assert "Analysis changed after start." in page.inner_text(".analysis-changed")
        assert "80 % credible interval" in page.inner_text(".metric-card thead")
        chance = page.inner_text(".metric-card td.chance")
        assert chance.split()[0] == "100.0%" and "needs ≥ 90 %" in chance
        assert page.locator(".ctw-bar").is_visible()
        screenshot(page, "experiment-bayesian")

        page.click("button:has-text('Complete…')")
        page.click("button:has-text('Complete experiment')")
        page.wait_for_selector(".banner-final")
        assert page.inner_text("h1 .final") == "Final"
        assert page.inner_text("h1 .status") == "Completed"
        assert page.locator(".actions button").count() == 0
        assert page.locator("form.settings-form").count() == 0
        assert "+100.0%" in page.inner_text(".metric-card")
        assert "treatment Ship" in " ".join(page.inner_text("section.decisions").split())
        screenshot(page, "experiment-completed")

        page.goto(live_server.url + reverse("web:metrics", kwargs={"key": key}))
        assert "identities with at least one purchase" in page.inner_text("table.metrics")
        screenshot(page, "metric-library")
    shop.refresh_from_db()
    assert shop.status == "completed" and shop.result_snapshot is not None
    assert shop.analysis["engine"] == "bayesian" and shop.analysis_changed_at is not None


def test_a_harmed_guardrail_and_an_old_snapshot_render_in_chromium(live_server, transactional_db):
    """Stored documents (three variants with a guardrail loss; a version-1 snapshot) as a
    person sees them: the badges name their variant, the old snapshot says it has no decision."""
    admin = make_user("ada", password=PASSWORD)
    environment = Environment.objects.create(name="Shop")
    Membership.objects.create(environment=environment, user=admin, role=Role.ADMIN)
    metrics = {
        "checkout": Metric.objects.create(
            environment=environment,
            name="Checkout",
            metric_type="conversion",
            aggregation="occurrence",
            definition={"version": 1, "event": "purchase", "value": None, "filters": []},
        ),
        "latency": Metric.objects.create(
            environment=environment,
            name="Latency",
            metric_type="numeric",
            aggregation="sum",
            higher_is_better=False,
            definition={"version": 1, "event": "page_load", "value": "ms", "filters": []},
        ),
    }
    three = {"control": 5000, "treatment": 5012, "treatment_b": 4990}
    running = new_experiment(environment, metrics, name="Three carts", flag="three")
    running.variants = [
        {"key": k, "weight": w} for k, w in zip(three, (0.34, 0.33, 0.33), strict=True)
    ]
    running.save()
    cache_document(
        running,
        documents.build(
            running.pk,
            [
                documents.checkout(metrics["checkout"].pk, three),
                documents.latency(metrics["latency"].pk, three),
            ],
            n=three,
            weights=[0.34, 0.33, 0.33],
        ),
    )
    old = new_experiment(environment, metrics, status="completed", name="Old cart", flag="old")
    freeze_document(
        old, documents.v1_document(old.pk, metrics["checkout"].pk, metrics["latency"].pk)
    )
    with chromium_page() as page:
        sign_in(page, live_server.url)
        page.goto(live_server.url + reverse("web:experiments", kwargs={"key": environment.key}))
        listing = page.inner_text("table.experiments")
        assert "treatment: Ship" in listing and "treatment_b: Do not ship" in listing
        assert "no decision recorded (results frozen by engine version 1)" in listing.lower()
        page.goto(
            live_server.url
            + reverse("web:experiment", kwargs={"key": environment.key, "pk": running.pk})
        )
        verdict = f"#metric-{metrics['latency'].pk} .metric-verdict"
        assert page.inner_text(f"{verdict} .badge") == "Loss (treatment_b)"
        assert page.text_content(verdict).strip() == "Verdict: Loss (treatment_b)"  # read aloud
        assert "guardrail 'Latency' got worse" in page.inner_text("section.decisions")
        assert page.locator(f"#metric-{metrics['latency'].pk} svg.forest .margin").count() == 1
        screenshot(page, "experiment-do-not-ship")
        page.goto(
            live_server.url
            + reverse("web:experiment", kwargs={"key": environment.key, "pk": old.pk})
        )
        assert "No decision recorded (results frozen by engine version 1)." in page.inner_text(
            "section.decisions"
        )
        screenshot(page, "experiment-version-1")
