"""What the pages show: lists, the experiment page's results, the metric library, plotly.js."""

from __future__ import annotations

import gzip
import json
import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.web.conftest import cache_document, client_for, freeze_document, new_experiment
from tests.web.documents import for_experiment

from liftlab.experiments.models import Metric
from liftlab.web.vendor import PLOTLY_JS_VERSION

pytestmark = pytest.mark.django_db


def experiment_page(client, experiment) -> str:
    key = experiment.environment.key
    url = reverse("web:experiment", kwargs={"key": key, "pk": experiment.pk})
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def text(html: str) -> str:
    """The page's text with tags removed and whitespace collapsed, as a reader sees it."""
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def figure(html: str, script_id: str) -> dict:
    found = re.search(rf'<script id="{script_id}" type="application/json">(.*?)</script>', html)
    assert found, f"no figure {script_id}"
    return json.loads(found.group(1))


def test_experiments_list_shows_flag_status_exposures_and_primary_verdict(
    environment, metrics, experiment, viewer
):
    cache_document(experiment, for_experiment(experiment, metrics))
    draft = new_experiment(environment, metrics, status="draft", name="Dark mode", flag="dark")
    page = client_for(viewer).get(reverse("web:experiments", kwargs={"key": environment.key}))
    html = page.content.decode()
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)[1:]
    assert len(rows) == 2
    dark, cart = (text(r) for r in rows)  # newest first
    assert "Dark mode" in dark and "dark" in dark and "Draft" in dark and "Win" not in dark
    assert "New cart" in cart and "new-cart" in cart and "Running" in cart
    assert "10,024" in cart
    assert re.search(r'class="badge tone-good">Win</span>\s*<span class="muted">Checkout', rows[1])
    assert draft.pk != experiment.pk


def test_experiment_page_shows_the_header_and_exposures(metrics, experiment, viewer):
    cache_document(experiment, for_experiment(experiment, metrics))
    html = experiment_page(client_for(viewer), experiment)
    page = text(html)
    assert "A one-page cart makes more people buy." in page
    assert "new-cart" in page and "$flag_exposure" in page
    assert "control 50.0% control" in page and "treatment 50.0%" in page
    assert "10,024 identities · 12 quarantined" in page
    assert "control 5,000 49.9% 50.0%" in page
    assert "Results computed at 23 Nov 2026, 09:30:05 UTC" in page
    assert "Sample ratio mismatch" not in page
    exposures = figure(html, "chart-exposures")
    assert [t["y"][-1] for t in exposures["data"]] == [5000, 5012]
    assert f"/vendor/plotly-{PLOTLY_JS_VERSION}.min.js" in html


def test_metric_cards_are_grouped_and_formatted(metrics, experiment, viewer):
    cache_document(experiment, for_experiment(experiment, metrics))
    html = experiment_page(client_for(viewer), experiment)
    page = text(html)
    assert page.index("Primary metrics") < page.index("Checkout") < page.index("Guardrail")
    assert page.index("Guardrail metrics") < page.index("Latency")
    assert "identities with at least one purchase" in page
    assert "<code>page_load</code>" in html and "↓ lower is better" in page
    assert (
        "treatment 5,012 25.0% +5.00 pp [+2.40 pp, +7.60 pp] "
        "+25.0% [+20.0%, +30.0%] < 0.001 Win" in page
    )
    assert "treatment 5,012 1,235 +1,235 [+617, +1,852] — 0.432 Inconclusive" in page
    forest = figure(html, f"forest-{metrics['checkout'].pk}")
    assert forest["data"][0]["x"] == [0.25] and forest["data"][0]["y"] == ["treatment"]
    assert f'id="forest-{metrics["latency"].pk}"' not in html  # no relative lift to plot


def test_sample_ratio_mismatch_banner(metrics, experiment, viewer):
    cache_document(experiment, for_experiment(experiment, metrics, mismatch=True))
    page = text(experiment_page(client_for(viewer), experiment))
    assert "Sample ratio mismatch (p < 0.001)." in page
    assert "may be biased" in page


def test_completed_experiment_is_marked_final_with_its_snapshot_time(environment, metrics, admin):
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
    assert "Checkout" in page


def test_a_draft_has_no_results_yet_and_lists_its_metrics(environment, metrics, admin):
    draft = new_experiment(environment, metrics, status="draft")
    html = experiment_page(client_for(admin), draft)
    page = text(html)
    assert "No results yet" in page and "Checkout (primary, expected increase)" in page
    assert "plotly" not in html


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
        "sum of ms of page_load where page = cart, within 24 h of exposure" in page
    )
    assert (
        "Checkout Conversion Occurrence ↑ higher is better identities with at least one purchase"
        in page
    )
    assert "&lt;b&gt;Bold&lt;/b&gt;" in html and "<code>&lt;i&gt;x&lt;/i&gt;</code>" in html


def test_plotly_is_served_from_the_installed_package_gzipped_and_cacheable():
    url = reverse("web:plotly-js")
    assert PLOTLY_JS_VERSION in url
    plain = Client().get(url)
    assert plain.status_code == 200 and plain["Content-Type"] == "text/javascript"
    assert f"v{PLOTLY_JS_VERSION}".encode() in plain.content[:2000]
    packed = Client().get(url, headers={"Accept-Encoding": "gzip, br"})
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content
    assert "immutable" in packed["Cache-Control"] and "Accept-Encoding" in packed["Vary"]
