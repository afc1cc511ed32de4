"""The power calculator page: a labelled form, the API's answer as a table, errors by field."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from tests.api.events import event, hours_ago, store_events
from tests.web.conftest import client_for

from liftlab import formatting
from liftlab.analysis.power import parse_question, plan

pytestmark = pytest.mark.django_db

FORM = {
    "mean": "10",
    "variance": "25",
    "mde": "0.05",
    "alpha": "0.05",
    "power": "0.8",
    "weights": "50, 25, 25",
    "daily_traffic": "1000",
    "sequential_tuning": "5000",
    "days": "28",
}


def page(client: Client, environment, **query: str) -> str:
    response = client.get(reverse("web:power", kwargs={"key": environment.key}), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def text(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).strip()


def error_of(html: str, name: str) -> str | None:
    """The error shown next to input ``name``, which must point at it, or None."""
    found = re.search(rf'<span class="field-error" id="power-{name}-error">(.*?)</span>', html)
    if found is None:
        return None
    control = re.search(rf'<(?:input|select) id="power-{name}"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in control and f"power-{name}-error" in control
    return unescape(found.group(1))


def test_every_input_has_its_label_and_the_list_links_here(viewer, environment):
    html = page(client_for(viewer), environment)
    inputs = re.findall(r'<(?:input|select) id="([^"]+)"', html)
    assert len(inputs) >= 13
    assert all(f'<label for="{name}">' in html for name in inputs)
    assert "What it needs" not in html
    listing = client_for(viewer).get(reverse("web:experiments", kwargs={"key": environment.key}))
    assert reverse("web:power", kwargs={"key": environment.key}) in listing.content.decode()


def test_the_answer_is_the_plans_for_both_designs(viewer, environment):
    html = page(client_for(viewer), environment, **FORM, identities="8000", sequential="on")
    question = {
        "baseline": {"mean": 10.0, "variance": 25.0},
        "mde": 0.05,
        "weights": [50, 25, 25],
        "daily_traffic": 1000,
        "sequential": True,
        "identities": 8000,
    }
    expected = plan(parse_question(question))
    table = text(re.search(r'<table class="power-table">(.*?)</table>', html, re.S).group(1))
    for name, design in (
        ("Fixed horizon", expected.fixed_horizon),
        ("Sequential chosen", expected.sequential),
    ):
        arms = " / ".join(formatting.thousands(n) for n in design.identities_per_arm)
        row = f"{name} {formatting.thousands(design.identities)} {arms} {design.days}"
        assert row in table, table
    assert "Change detectable with 8,000" in table
    assert "0.025 per treatment, Bonferroni" in text(html)
    assert 'value="50, 25, 25"' in html and "checked" in html  # the form keeps what was typed


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"mde": "five"}, "mde", "must be a number"),
        ({"mde": "0"}, "mde", "greater than 0"),
        ({"mean": "1.5", "conversion": "on"}, "mean", "between 0 and 1"),
        ({"variance": ""}, "variance", "required"),
        ({"weights": "50, x"}, "weights", "separated by commas"),
        ({"weights": "50, 0"}, "weights", "greater than or equal"),
        ({"daily_traffic": ""}, "daily_traffic", "required"),
        ({"days": "2.5"}, "days", "whole number"),
        ({"scale": "log"}, "scale", "relative"),
        ({"metric": "x"}, "metric", "metrics listed"),
        ({"metric": "999999"}, "metric", "no metric"),
        ({"mde": "1e-12"}, "mde", "more than"),
    ],
)
def test_a_refusal_is_shown_next_to_its_field(viewer, environment, changes, field, words):
    html = page(client_for(viewer), environment, **{**FORM, **changes})
    shown = error_of(html, field)
    assert shown is not None and words in shown, (field, shown)
    assert "What it needs" not in html


def test_what_is_typed_comes_back_escaped(viewer, environment):
    html = page(client_for(viewer), environment, **{**FORM, "mde": '"><script>alert(1)</script>'})
    assert "<script>alert(1)" not in html
    assert error_of(html, "mde") == "must be a number"


def test_a_metrics_baseline_is_read_from_its_events(viewer, environment, metrics):
    checkout = metrics["checkout"]
    rows = [event(environment.key, "visit", f"u{i}", hours_ago(30)) for i in range(8)]
    rows += [event(environment.key, "purchase", f"u{i}", hours_ago(20)) for i in range(2)]
    store_events(rows)
    html = page(
        client_for(viewer), environment, **{**FORM, "metric": str(checkout.pk), "daily_traffic": ""}
    )
    shown = text(html)
    assert f"Baseline of {checkout.name} : 8 identities active in the last 28 days" in shown
    assert "from a rate of 25.0%" in shown
    assert f'<option value="{checkout.pk}" selected>' in html


def test_who_may_use_it(environment, outsider, admin):
    url = reverse("web:power", kwargs={"key": environment.key})
    assert Client().get(url)["Location"].startswith("/login/?next=")
    assert client_for(outsider).get(url).status_code == 404
    environment.experimentation_enabled = False
    environment.save()
    assert client_for(admin).get(url).status_code == 403
