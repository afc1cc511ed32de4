"""What the pages show: lists, the experiment page's decisions, settings and results, the charts,
the metric library."""

from __future__ import annotations

import gzip
import hashlib
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.web.conftest import cache_document, client_for, freeze_document, new_experiment
from tests.web.documents import build, checkout, for_experiment, latency, v1_document

from liftlab import formatting
from liftlab.experiments.models import Metric

pytestmark = pytest.mark.django_db


def experiment_page(client, experiment) -> str:
    key = experiment.environment.key
    url = reverse("web:experiment", kwargs={"key": key, "pk": experiment.pk})
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def text(html: str) -> str:
    """The page's text with tags removed and whitespace collapsed, as a reader sees it."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).strip()


def section(html: str, css_class: str) -> str:
    found = re.search(rf'<section class="card {css_class}"[^>]*>(.*?)</section>', html, flags=re.S)
    assert found, f"no section {css_class}"
    return found.group(1)


def row(html: str, metric_id: int, variant: str) -> str:
    """A metric card's row for a variant, as text."""
    card = re.search(rf'id="metric-{metric_id}"(.*?)</section>', html, flags=re.S).group(1)
    found = re.search(rf'<tr[^>]*data-variant="{variant}">(.*?)</tr>', card, flags=re.S)
    assert found, f"no row {variant} in metric {metric_id}"
    reason = re.search(rf'<tr class="reason-row" data-reason-of="{variant}">(.*?)</tr>', card, re.S)
    return text(found.group(1) + (reason.group(1) if reason else ""))


def signed_percent(value: float | None) -> str:
    return formatting.percent(value, signed=True)


def figure(html: str, chart_id: str) -> str:
    """The inline SVG (and its data table) of the chart with this id."""
    found = re.search(rf'<figure class="chart" id="{chart_id}">(.*?)</figure>', html, flags=re.S)
    assert found, f"no chart {chart_id}"
    return found.group(1)


def description(chart: str) -> str:
    """What a screen reader hears of an SVG chart: its ``<desc>``."""
    return unescape(re.search(r"<desc>(.*?)</desc>", chart, flags=re.S).group(1))


def test_experiments_list_shows_decisions_the_sample_ratio_and_guardrail_flags(
    environment, metrics, experiment, viewer
):
    cache_document(experiment, for_experiment(experiment, metrics))
    skewed = new_experiment(environment, metrics, name="Skewed", flag="skewed")
    cache_document(skewed, for_experiment(skewed, metrics, mismatch=True))
    new_experiment(environment, metrics, status="draft", name="Dark mode", flag="dark")
    page = client_for(viewer).get(reverse("web:experiments", kwargs={"key": environment.key}))
    html = page.content.decode()
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)[1:]
    assert len(rows) == 3
    dark, skew, cart = (text(r) for r in rows)  # newest first
    # the decision, the guardrails and the sample ratio come first, before the details
    assert dark.startswith("Dark mode — — — — Draft") and "Ship" not in dark
    assert re.match(
        r"New cart treatment: Ship ok ok p = 0\.\d{3} updated \d+ days? ago Running", cart
    )
    assert "new-cart" in cart and "10,024" in cart
    assert re.search(r'class="badge tone-good">Ship</span>', rows[2])
    assert "Win" not in cart  # a decision, not a metric's verdict
    assert skew.startswith("Skewed treatment: Investigate assignment ok ⚠ Mismatch p < 0.001")


def test_the_list_flags_a_failed_guardrail_next_to_the_decision(
    environment, metrics, experiment, viewer
):
    """A three-arm experiment whose treatment_b harmed Latency: the list says so, by name."""
    three = {"control": 5000, "treatment": 5012, "treatment_b": 4990}
    document = build(
        experiment.pk,
        [checkout(metrics["checkout"].pk, three), latency(metrics["latency"].pk, three)],
        n=three,
        weights=[0.34, 0.33, 0.33],
    )
    cache_document(experiment, document)
    page = client_for(viewer).get(reverse("web:experiments", kwargs={"key": environment.key}))
    (listed,) = (text(r) for r in re.findall(r"<tr>(.*?)</tr>", page.content.decode(), re.S)[1:])
    assert listed.startswith(
        "New cart treatment: Ship treatment_b: Do not ship ⚠ Failed Latency (loss, treatment_b) ok"
    )


def test_the_decision_comes_first_with_its_reasons(metrics, experiment, viewer):
    document = for_experiment(experiment, metrics)
    cache_document(experiment, document)
    html = experiment_page(client_for(viewer), experiment)
    page = text(html)
    decision = text(section(html, "decisions"))
    (reasons,) = [d["reasons"] for d in document["decisions"]]
    assert decision.startswith("Decision treatment Ship")
    assert all(reason in decision for reason in reasons)
    assert "primary metric 'Checkout' won" in decision
    assert page.index("Decision") < page.index("Scorecard") < page.index("Exposures")
    assert page.index("Exposures") < page.index("Primary metrics", page.index("Exposures"))
    assert "Sample ratio: ok (p = " in decision


def test_the_analysis_settings_are_shown_in_words(metrics, experiment, viewer):
    cache_document(experiment, for_experiment(experiment, metrics))
    html = experiment_page(client_for(viewer), experiment)
    analysis = text(section(html, "analysis"))
    assert "Method frequentist, fixed horizon" in analysis
    assert "Judged on the relative lift" in analysis
    assert "Correction Benjamini–Hochberg over primary and secondary metrics" in analysis
    assert "Significance α = 0.05, 95 % CI" in analysis
    assert "Analysis changed after start" not in text(html)
    assert "Change analysis settings" not in html  # viewers get no form


def test_sequential_settings_say_always_valid_and_a_late_change_is_flagged(
    metrics, experiment, viewer
):
    experiment.analysis = {"sequential": True, "correction": "holm"}
    experiment.analysis_changed_at = timezone.now()
    experiment.save()
    document = for_experiment(
        experiment, metrics, analysis=experiment.analysis, changed_after_start=True
    )
    cache_document(experiment, document)
    html = experiment_page(client_for(viewer), experiment)
    analysis = text(section(html, "analysis"))
    assert "frequentist, sequential: always-valid (sequential) intervals" in analysis
    assert "Tuned for 5,000 identities" in analysis and "Correction Holm" in analysis
    notice = re.search(r'<div class="banner banner-warn analysis-changed"(.*?)</div>', html, re.S)
    assert notice and "Analysis changed after start." in text(notice.group(1))


def test_metric_cards_show_the_judged_lift_p_values_and_the_guardrail_bound(
    metrics, experiment, viewer
):
    document = for_experiment(experiment, metrics)
    cache_document(experiment, document)
    html = experiment_page(client_for(viewer), experiment)
    page = text(html)
    checkout, latency = metrics["checkout"].pk, metrics["latency"].pk
    cards = page[page.index("Primary metrics") :]
    assert cards.index("Checkout") < cards.index("Guardrail metrics") < cards.index("Latency")
    assert "identities with at least one purchase" in page
    assert "<code>page_load</code>" in html and "↓ lower is better" in page
    assert "Relative lift judged · 95 % CI Absolute lift p-value Adjusted p Verdict" in page

    won = document["metrics"][0]["comparisons"][0]
    relative, absolute = won["relative"]["ci"], won["absolute"]["ci"]
    # each column's decimals follow its interval's width (about 19 % and 3.3 pp): one decimal
    assert 10 < (relative["high"] - relative["low"]) * 100 < 100
    assert 1 < (absolute["high"] - absolute["low"]) * 100 < 10
    one_decimal_pp = lambda v: formatting.fixed(v * 100, 1, signed=True, suffix=" pp")  # noqa: E731
    relative_ci = formatting.interval((relative["low"], relative["high"]), signed_percent)
    absolute_ci = formatting.interval((absolute["low"], absolute["high"]), one_decimal_pp)
    assert row(html, checkout, "control") == "control control 5,000 20.0% baseline"
    assert row(html, checkout, "treatment") == (
        f"treatment 5,012 25.0% +25.0% {relative_ci} +5.0 pp {absolute_ci} "
        f"< 0.001 < 0.001 Win Why treatment is win: {won['reason']}"
    )
    assert re.search(r'id="metric-\d+-name">Checkout</h3>', html)
    assert '>Verdict: </span><span class="badge tone-good">Win (treatment)</span>' in html

    held = document["metrics"][1]["comparisons"][0]
    latency_row = row(html, latency, "treatment")
    bound = formatting.fixed(held["non_inferiority"]["bound"] * 100, 1, signed=True, suffix="%")
    assert f"{bound} needs < +1.0% Pass Why treatment is pass:" in latency_row
    assert held["reason"] in latency_row
    assert "non-inferiority margin 1.00%" in page
    assert "Non-inferiority harm-side bound" in page
    assert "Pass (treatment)" in page

    forest = figure(html, f"forest-{checkout}")
    assert description(forest) == f"treatment: +25.0% {relative_ci}, win"
    assert forest.count('class="mark tone-good"') == 1
    guardrail = figure(html, f"forest-{latency}")
    assert 'class="margin"' in guardrail and ">margin</text>" in guardrail
    assert "<script" not in html  # the charts are drawn on the server


def test_bayesian_cards_show_a_chance_to_win_bar_with_its_value_and_credible_intervals(
    metrics, experiment, viewer
):
    experiment.analysis = {"engine": "bayesian", "prior": {"mean": 0.0, "sd": 0.1}}
    experiment.save()
    document = for_experiment(experiment, metrics, analysis=experiment.analysis)
    cache_document(experiment, document)
    html = experiment_page(client_for(viewer), experiment)
    page = text(html)
    assert "Relative lift judged · 90 % credible interval" in page
    assert "Chance to win Risk expected loss" in page and "p-value" not in page
    analysis = text(section(html, "analysis"))
    assert "Method Bayesian" in analysis and "Prior normal, mean 0.0%, sd 10.0%" in analysis
    assert "Threshold chance to win ≥ 95 %" in analysis
    held = document["metrics"][1]["comparisons"][0]
    chance = formatting.percent(held["chance_to_win"])
    cell = re.search(
        r'data-variant="treatment">(?:(?!</tr>).)*?<td class="chance"[^>]*>(.*?)</td>',
        html.split(f'id="metric-{metrics["latency"].pk}"')[1],
        re.S,
    ).group(1)
    assert text(cell) == f"{chance} needs ≥ 95 %"  # the value is text, not only a bar
    assert 'class="ctw-bar" aria-hidden="true"' in cell
    assert f'style="width: {round(held["chance_to_win"] * 100, 1)}%"' in cell


def test_sample_ratio_mismatch_banner_and_decision(metrics, experiment, viewer):
    cache_document(experiment, for_experiment(experiment, metrics, mismatch=True))
    html = experiment_page(client_for(viewer), experiment)
    page = text(html)
    assert "Sample ratio mismatch (p < 0.001)." in page and "may be biased" in page
    assert text(section(html, "decisions")).startswith(
        "Decision treatment Investigate assignment sample-ratio mismatch"
    )


def test_completed_experiment_is_marked_final_and_has_no_settings_form(environment, metrics, admin):
    done = new_experiment(environment, metrics, status="completed", ended_at=timezone.now())
    freeze_document(done, for_experiment(done, metrics, final=True))
    html = experiment_page(client_for(admin), done)
    page = text(html)
    snapshot = done.result_snapshot.computed_at
    assert '<span class="final"' in html
    assert (
        f"Final results. Frozen when the experiment completed, at {snapshot:%-d %b %Y, %H:%M:%S}"
        in page
    )
    assert "Refresh results" not in page and "Complete…" not in page
    assert "Change analysis settings" not in page
    assert "Decision treatment Ship" in page


def test_a_version_1_snapshot_still_renders_without_a_decision(environment, metrics, viewer):
    done = new_experiment(environment, metrics, status="completed", ended_at=timezone.now())
    freeze_document(done, v1_document(done.pk, metrics["checkout"].pk, metrics["latency"].pk))
    html = experiment_page(client_for(viewer), done)
    page = text(html)
    assert "No decision recorded (results frozen by engine version 1)." in page
    assert "Correction no correction" in text(section(html, "analysis"))
    assert "Judged on the absolute lift" in text(section(html, "analysis"))
    assert row(html, metrics["checkout"].pk, "treatment").startswith(
        "treatment 5,012 25.0% +5.0 pp [+2.4 pp, +7.6 pp] +25.0% [+20.0%, +30.0%] "
        "< 0.001 — Win Why treatment is win: computed by engine version 1"
    )
    assert "Latency" in page and "Inconclusive" in page
    listing = client_for(viewer).get(reverse("web:experiments", kwargs={"key": environment.key}))
    assert "no decision recorded (results frozen by engine version 1)" in (
        listing.content.decode().lower()
    )


def test_a_draft_has_no_results_yet_but_shows_its_settings_and_metrics(environment, metrics, admin):
    draft = new_experiment(environment, metrics, status="draft")
    html = experiment_page(client_for(admin), draft)
    page = text(html)
    assert "No results yet" in page and "Checkout (primary, expected increase)" in page
    assert "Method frequentist, fixed horizon" in page
    assert "Change analysis settings" in page and "a change is recorded" not in page
    assert "<svg" not in html


def test_metric_library_describes_each_metric(environment, metrics, viewer):
    Metric.objects.create(
        environment=environment,
        name="<b>Bold</b>",
        metric_type="numeric",
        aggregation="count",
        definition={
            "version": 1,
            "event": "<i>x</i>",
            "value": None,
            "filters": [],
            "window": None,
        },
    )
    response = client_for(viewer).get(reverse("web:metrics", kwargs={"key": environment.key}))
    html = response.content.decode()
    page = text(html)
    assert (
        "Latency Numeric Sum ↓ lower is better "
        "sum of ms of page_load where page = cart, within 1 day of exposure" in page
    )
    assert (
        "Checkout Conversion Occurrence ↑ higher is better identities with at least one purchase"
        in page
    )
    assert "&lt;b&gt;Bold&lt;/b&gt;" in html and "<code>&lt;i&gt;x&lt;/i&gt;</code>" in html


def aged(document: dict, age: timedelta) -> dict:
    """The document as if computed ``age`` ago (the real code stores its own ``computed_at``)."""
    return {**document, "computed_at": (timezone.now() - age).isoformat()}


def test_the_experiment_page_and_the_list_say_how_old_the_results_are(
    environment, metrics, experiment, viewer
):
    cache_document(experiment, aged(for_experiment(experiment, metrics), timedelta(minutes=12)))
    done = new_experiment(environment, metrics, status="completed", name="Done", flag="done")
    freeze_document(done, aged(for_experiment(done, metrics, final=True), timedelta(days=3)))
    client = client_for(viewer)
    assert "Updated 12 min ago" in text(experiment_page(client, experiment))
    assert "Final, computed 3 days ago" in text(experiment_page(client, done))
    listing = client.get(reverse("web:experiments", kwargs={"key": environment.key}))
    rows = [text(r) for r in re.findall(r"<tr>(.*?)</tr>", listing.content.decode(), re.S)]
    assert "Results" in rows[0]
    assert "final, computed 3 days ago" in rows[1] and "updated 12 min ago" in rows[2]


def test_refresh_is_offered_to_admins_of_running_experiments_with_its_limit(
    environment, metrics, experiment, admin, viewer
):
    paused = new_experiment(environment, metrics, status="paused", name="Paused", flag="paused")
    for shown in (experiment, paused):
        cache_document(shown, for_experiment(shown, metrics))
    running_page = text(experiment_page(client_for(admin), experiment))
    assert "Refresh results" in running_page
    assert "Refresh results includes newer events, at most once a minute." in running_page
    paused_page = text(experiment_page(client_for(admin), paused))
    assert "Refresh results" not in paused_page and "Resume" in paused_page
    viewers_page = text(experiment_page(client_for(viewer), experiment))
    assert "Refresh results" not in viewers_page and "Updated" in viewers_page


@pytest.mark.parametrize("sequential", [False, True])
def test_each_metric_card_draws_its_lift_over_time_and_says_whether_daily_reading_is_safe(
    metrics, experiment, viewer, sequential
):
    document = for_experiment(experiment, metrics, days=True, analysis={"sequential": sequential})
    cache_document(experiment, document)
    html = experiment_page(client_for(viewer), experiment)
    checkout = metrics["checkout"].pk
    chart = figure(html, f"forest-{checkout}-days")
    judged = [day["metrics"][0]["comparisons"][0]["estimate"] for day in document["timeline"]]
    cells = re.findall(r'<th scope="row">([^<]*)</th><td>([^<]*)</td>', chart)
    assert len(cells) == len(document["timeline"]) == 4
    assert [text(c) for _, c in cells] == [
        f"{signed_percent(e['estimate'])} "
        + formatting.interval((e["ci"]["low"], e["ci"]["high"]), signed_percent)
        for e in judged
    ]
    assert chart.count('class="line series-0"') == 1
    note = "Sequential testing is on" if sequential else "inflates false positives"
    assert note in text(html)


def test_the_page_shows_progress_to_a_decision_and_the_segments(metrics, experiment, viewer):
    document = for_experiment(experiment, metrics, segments=["US", "FR"])
    cache_document(experiment, document)
    page = text(experiment_page(client_for(viewer), experiment))
    checkout = next(m for m in document["metrics"] if m["role"] == "primary")
    days = checkout["power"]["days_to_decision"]
    assert "Progress to a decision" in page
    assert f"Checkout : 3 days run of {3 + days} needed" in page
    segments = page[page.index("By country") :]
    assert "exploratory: p-values corrected across segments" in segments
    assert segments.index("US") < segments.index("FR")


def test_a_metric_unit_follows_its_means_and_differences_and_p_values_have_two_digits(
    metrics, experiment, viewer
):
    metrics["latency"].unit = "ms"
    metrics["latency"].save()
    document = for_experiment(experiment, metrics, analysis={"scale": "absolute"})
    cache_document(experiment, document)
    html = experiment_page(client_for(viewer), experiment)
    latency = row(html, metrics["latency"].pk, "treatment")
    assert latency.startswith("treatment 5,012 1,195 ms −5 ms [")
    assert re.search(r"−5 ms \[−\d+ ms, \+\d+ ms\]", latency)
    held = document["metrics"][1]["comparisons"][0]
    assert f" {formatting.p_value(held['p_value'], significant=2)} " in latency
    assert len(formatting.p_value(held["p_value"], significant=2).lstrip("0.")) == 2
    assert row(html, metrics["latency"].pk, "control").startswith("control control 5,000 1,200 ms")


def test_the_stylesheet_is_served_gzipped_under_its_content_hash_and_cached_for_good(
    environment, viewer
):
    client = client_for(viewer)
    html = client.get(reverse("web:metrics", kwargs={"key": environment.key})).content.decode()
    href = re.search(r'<link rel="stylesheet" href="([^"]+)">', html).group(1)
    content = Path(finders.find("web/liftlab.css")).read_bytes()
    assert href == f"/assets/{hashlib.sha256(content).hexdigest()[:12]}/liftlab.css"
    assert "<script" not in html  # and the pages need no script at all

    packed = client.get(href, headers={"Accept-Encoding": "gzip, br"})
    assert packed["Content-Encoding"] == "gzip" and packed["Content-Type"].startswith("text/css")
    assert gzip.decompress(packed.content) == content
    assert len(packed.content) * 3 < len(content)
    assert packed["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Accept-Encoding" in packed["Vary"]
    assert client.get(href).content == content  # a client that takes no gzip
    assert Client().get(href).status_code == 200  # the sign-in page is styled too
    # A page cached before an upgrade names an older hash: it is sent to the current file.
    old = client.get("/assets/0123456789ab/liftlab.css")
    assert (old.status_code, old["Location"]) == (302, href)
    assert client.get(f"/assets/{href.split('/')[2]}/settings.py").status_code == 404
    assert client.post(href).status_code == 405


def test_the_experiment_page_is_gzipped_for_browsers_that_accept_it_the_list_is_not(
    environment, metrics, experiment, viewer
):
    cache_document(experiment, for_experiment(experiment, metrics))
    client = client_for(viewer)
    url = reverse("web:experiment", kwargs={"key": environment.key, "pk": experiment.pk})
    plain = client.get(url)
    packed = client.get(url, headers={"Accept-Encoding": "gzip, br"})
    assert "Content-Encoding" not in plain and packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    assert len(packed.content) * 3 < len(plain.content)
    # the same page, but for the per-request CSRF masks in its forms
    csrf = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    assert csrf.sub(b"", gzip.decompress(packed.content)) == csrf.sub(b"", plain.content)
    listing = client.get(
        reverse("web:experiments", kwargs={"key": environment.key}),
        headers={"Accept-Encoding": "gzip"},
    )
    assert "Content-Encoding" not in listing  # it can show a new ingestion key's secret
