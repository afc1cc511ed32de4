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
        assert listed[:3] == ["One-page cart", "treatment: Ship", "ok"]  # no guardrail failed
        assert listed[3].startswith("ok p = ") and listed[6] == "800"
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


def shop_with_two_metrics(unit: str) -> tuple[Environment, dict[str, Metric]]:
    """An environment administered by ada, with a checkout rate and a latency (in ``unit``)."""
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
            unit=unit,
            definition={"version": 1, "event": "page_load", "value": "ms", "filters": []},
        ),
    }
    return environment, metrics


def three_arms(environment: Environment, metrics: dict[str, Metric], days: bool = False):
    """A running three-variant experiment with a stored document (a guardrail loss)."""
    three = {"control": 5000, "treatment": 5012, "treatment_b": 4990}
    weights = [0.34, 0.33, 0.33]
    arms = new_experiment(environment, metrics, name="Three carts", flag="three")
    arms.variants = [{"key": k, "weight": w} for k, w in zip(three, weights, strict=True)]
    arms.save()
    parts = [
        documents.checkout(metrics["checkout"].pk, three),
        documents.latency(metrics["latency"].pk, three),
    ]
    cache_document(arms, documents.build(arms.pk, parts, n=three, weights=weights, days=days))
    return arms


def test_a_harmed_guardrail_and_an_old_snapshot_render_in_chromium(live_server, transactional_db):
    """Stored documents (three variants with a guardrail loss; a version-1 snapshot) as a
    person sees them: the badges name their variant, the old snapshot says it has no decision."""
    environment, metrics = shop_with_two_metrics(unit="")
    running = three_arms(environment, metrics)
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


# The results page on any screen: stored documents for the cases a team decides from (three
# arms with a guardrail loss, a sample-ratio mismatch, final results), at a desktop width, a
# phone's width and after resizes, checked for overlap, the decision's place, console errors and
# axe-core's serious or critical findings; the empty-cache load time is printed, not asserted.

WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}
SCREENS = {  # size and the system's colour scheme (the dark theme follows it)
    "desktop": (*WIDTHS["desktop"], "light"),
    "phone": (*WIDTHS["phone"], "light"),
    "desktop-dark": (*WIDTHS["desktop"], "dark"),
}
SERIOUS = ("serious", "critical")


@pytest.fixture
def decision_pages(live_server, transactional_db) -> dict[str, str]:
    """URLs of three stored result documents as a product team would meet them."""
    environment, metrics = shop_with_two_metrics(unit="ms")
    arms = three_arms(environment, metrics, days=True)
    skewed = new_experiment(environment, metrics, name="Skewed cart", flag="skewed")
    cache_document(skewed, documents.for_experiment(skewed, metrics, mismatch=True))
    done = new_experiment(
        environment,
        metrics,
        status="completed",
        name="Done cart",
        flag="done",
        ended_at=timezone.now(),
    )
    freeze_document(done, documents.for_experiment(done, metrics, final=True))

    def page(experiment: Experiment) -> str:
        kwargs = {"key": environment.key, "pk": experiment.pk}
        return live_server.url + reverse("web:experiment", kwargs=kwargs)

    return {
        "list": live_server.url + reverse("web:experiments", kwargs={"key": environment.key}),
        "three-arms": page(arms),
        "srm": page(skewed),
        "final": page(done),
    }


def overlapping_cards(page) -> list[str]:
    """Pairs of cards whose boxes intersect, and charts that leave their box: their card's,
    or the sideways-scrolling region they are in (which clips them and shows a cue), itself
    inside the card."""
    return page.evaluate(
        """() => {
          const cards = [...document.querySelectorAll('main .card')];
          const box = e => e.getBoundingClientRect();
          const title = e => (e.querySelector('h2,h3')?.textContent || '').trim();
          const name = e => (e.id || e.className) + ' ' + title(e);
          const found = [];
          for (let i = 0; i < cards.length; i++) {
            for (let j = i + 1; j < cards.length; j++) {
              const a = box(cards[i]), b = box(cards[j]);
              const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
              const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
              if (w > 0.5 && h > 0.5) found.push(name(cards[i]) + ' × ' + name(cards[j]));
            }
          }
          const outside = (c, card) => c.top < card.top - 0.5 || c.bottom > card.bottom + 0.5 ||
            c.left < card.left - 0.5 || c.right > card.right + 0.5;
          for (const region of document.querySelectorAll('main .card .table-scroll')) {
            if (outside(box(region), box(region.closest('.card'))))
              found.push('scrolling table outside ' + name(region.closest('.card')));
          }
          for (const chart of document.querySelectorAll('main .card svg')) {
            const holder = chart.closest('.table-scroll') || chart.closest('.card');
            const c = box(chart), card = box(holder);
            if (c.height === 0 || holder.classList.contains('table-scroll')) continue;
            if (outside(c, card))
              found.push('chart outside ' + name(chart.closest('.card')));
          }
          return found;
        }"""
    )


def decision_in_first_screen(page) -> bool:
    """Whether each treatment's decision badge is inside the viewport before any scrolling."""
    height = page.viewport_size["height"]
    badges = page.locator("section.decisions .decision .badge")
    return badges.count() > 0 and all(
        b["y"] >= 0 and b["y"] + b["height"] <= height
        for b in (badges.nth(i).bounding_box() for i in range(badges.count()))
    )


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in SERIOUS
    ]


def load_time(page, url: str) -> dict:
    """Load ``url`` with an empty browser cache (cleared through the DevTools protocol) and
    read the browser's own navigation timing (ms) and the bytes it moved."""
    page.context.new_cdp_session(page).send("Network.clearBrowserCache")
    page.goto(url, wait_until="load")
    return page.evaluate(
        """() => {
          const nav = performance.getEntriesByType('navigation')[0];
          const rest = performance.getEntriesByType('resource');
          return {load_ms: Math.round(nav.loadEventEnd), bytes: nav.transferSize +
                  rest.reduce((sum, r) => sum + r.transferSize, 0), requests: 1 + rest.length};
        }"""
    )


def scrolling_sideways(page) -> list[str]:
    """The boxes whose content is wider than they are (a sideways scroll bar): none is
    needed on a desktop screen, where every column must be in sight."""
    return page.evaluate(
        """() => [...document.querySelectorAll('main *')]
            .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
                         && e.scrollWidth > e.clientWidth + 1)
            .map(e => `${e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')
                        || e.className}: ${e.scrollWidth} > ${e.clientWidth}`)"""
    )


def check_screen(page, name: str, errors: list[str]) -> None:
    """The checks every page state passes at the current size; a screenshot of it."""
    assert overlapping_cards(page) == [], name
    if page.viewport_size["width"] >= WIDTHS["desktop"][0]:
        assert scrolling_sideways(page) == [], name
    assert serious_violations(page) == [], name
    assert errors == [], name
    screenshot(page, name)


@pytest.mark.parametrize("screen", SCREENS)
def test_the_results_page_reads_on_any_screen_without_overlap_errors_or_serious_axe_findings(
    decision_pages, screen
):
    width, height, scheme = SCREENS[screen]
    with chromium_page(width, height) as page:
        page.emulate_media(color_scheme=scheme)
        suffix = "-dark" if scheme == "dark" else ""
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        base = decision_pages["list"].split("/environments/")[0]
        sign_in(page, base)
        for state in ("three-arms", "srm", "final"):
            timing = load_time(page, decision_pages[state])
            print(
                f"\n{state} at {width} px ({scheme}), empty cache: loaded in "
                f"{timing['load_ms']} ms ({timing['requests']} requests, {timing['bytes']:,} bytes)"
            )
            assert decision_in_first_screen(page), state
            check_screen(page, f"results-{state}-{width}{suffix}", errors)
        page.goto(decision_pages["three-arms"])
        listing = page.locator("section.scorecard tr.score-row")
        assert listing.count() == 4
        assert "Loss (treatment_b)" in listing.nth(3).inner_text()
        page.goto(decision_pages["list"])
        check_screen(page, f"experiments-list-{width}{suffix}", errors)


def test_after_resizes_and_a_rotation_the_charts_rescale_and_no_card_overlaps(decision_pages):
    with chromium_page(*WIDTHS["desktop"]) as page:
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        sign_in(page, decision_pages["list"].split("/environments/")[0])
        page.goto(decision_pages["three-arms"])
        forest = page.locator(".metric-card svg.forest").first
        wide = forest.bounding_box()["width"]
        for width, height in ((390, 844), (844, 390), (1024, 768), (1440, 900)):
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(50)  # one frame for the layout to settle
            assert overlapping_cards(page) == [], (width, height)
            box = forest.bounding_box()
            assert 0 < box["width"] <= width, (width, height)
            if width == 390:
                assert box["width"] < wide  # rescaled to the phone, not cut off
                screenshot(page, "results-three-arms-resized-390")
        assert forest.bounding_box()["width"] == pytest.approx(wide, abs=1)
        assert errors == []
        screenshot(page, "results-three-arms-resized-back-1440")


def test_the_complete_confirmation_closes_on_escape_and_paused_experiments_offer_no_refresh(
    decision_pages,
):
    with chromium_page(*WIDTHS["phone"]) as page:
        sign_in(page, decision_pages["list"].split("/environments/")[0])
        page.goto(decision_pages["three-arms"])
        assert page.locator("button:has-text('Refresh results')").count() == 1
        page.click("button:has-text('Complete…')")
        dialog = page.locator("#complete-confirm")
        assert dialog.is_visible()
        assert dialog.locator("button:has-text('Complete experiment')").is_visible()
        screenshot(page, "complete-confirmation-390")
        page.keyboard.press("Escape")
        assert not dialog.is_visible()
        page.reload()
        assert page.inner_text("h1 .status") == "Running"  # Escape completed nothing
        page.click("button:has-text('Pause')")
        page.wait_for_selector(".message-success")
        assert page.locator("button:has-text('Refresh results')").count() == 0
        assert page.locator("button:has-text('Resume')").count() == 1
        page.keyboard.press("Tab")  # the skip link is the first stop, and it is shown
        skip = page.locator("a.skip-link")
        assert skip.evaluate("e => e === document.activeElement") and skip.is_visible()
