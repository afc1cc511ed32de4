"""An experiment's breakdown dimensions, edited in the page's analysis form: saved through the
API's serializer and audit log, and refused with exactly the API's words."""

from __future__ import annotations

import re
from html import unescape

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from tests.web.conftest import client_for, new_experiment
from tests.web.test_access import analysis_url, pages, settings_form

from liftlab.audit.models import Action, AuditLogEntry

pytestmark = pytest.mark.django_db


def rows(*dimensions: tuple[str, str]) -> dict[str, str]:
    """The form's breakdown rows, filled in order."""
    fields = {}
    for i, (source, name) in enumerate(dimensions):
        fields[f"breakdown_source_{i}"] = source
        fields[f"breakdown_property_{i}"] = name
    return fields


def message(response, tone: str) -> str:
    found = re.search(rf'class="message message-{tone}"[^>]*>(.*?)</li>', response.content.decode())
    assert found, response.content.decode()[:2000]
    return unescape(found.group(1))


def api_refusal(experiment, user, analysis: dict) -> list[str]:
    """What the API's PATCH says of the same settings: ``path: message`` lines."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    url = f"/api/v1/environments/{experiment.environment.key}/experiments/{experiment.pk}/"
    response = client.patch(url, {"analysis": analysis}, format="json")
    assert response.status_code == 400, response.content
    return [f"{path}: {text}" for path, texts in response.json().items() for text in texts]


def test_the_form_shows_three_rows_filled_with_the_stored_dimensions(environment, metrics, admin):
    draft = new_experiment(environment, metrics, status="draft")
    draft.analysis = {"breakdowns": [{"source": "trait", "property": "country"}]}
    draft.save()
    page = client_for(admin).get(pages(draft)[2]).content.decode()
    assert page.count('name="breakdown_source_') == 3
    assert re.search(r'name="breakdown_source_0".*?<option value="trait" selected>', page, re.S)
    assert 'name="breakdown_property_0" type="text" value="country"' in page
    assert re.search(r'name="breakdown_source_1".*?<option value="" selected>none', page, re.S)
    assert '<label for="breakdown-property-2">' in page


def test_admins_set_breakdowns_through_the_api_serializer_and_the_audit_log(
    environment, metrics, admin
):
    draft = new_experiment(environment, metrics, status="draft")
    form = settings_form(**rows(("trait", "country"), ("sdk_language", ""), ("", "")))
    response = client_for(admin).post(analysis_url(draft), form, follow=True)
    assert "Analysis settings saved: breakdowns" in message(response, "success")
    draft.refresh_from_db()
    assert draft.analysis["breakdowns"] == [
        {"source": "trait", "property": "country"},
        {"source": "sdk_language", "property": None},
    ]
    entry = AuditLogEntry.objects.get(action=Action.UPDATE, object_id=str(draft.pk))
    assert entry.before["analysis"]["breakdowns"] == []
    assert len(entry.after["analysis"]["breakdowns"]) == 2
    cleared = client_for(admin).post(analysis_url(draft), settings_form(), follow=True)
    assert "Analysis settings saved: breakdowns" in message(cleared, "success")
    draft.refresh_from_db()
    assert draft.analysis["breakdowns"] == []


@pytest.mark.parametrize(
    ("dimensions", "sent"),
    [
        ((("trait", ""),), [{"source": "trait", "property": None}]),
        ((("sdk_version", "v2"),), [{"source": "sdk_version", "property": "v2"}]),
        ((("", "country"),), [{"source": "", "property": "country"}]),
        (
            (("trait", "country"), ("trait", "country")),
            [{"source": "trait", "property": "country"}] * 2,
        ),
    ],
)
def test_refused_breakdowns_say_what_the_api_says_and_change_nothing(
    environment, metrics, admin, dimensions, sent
):
    draft = new_experiment(environment, metrics, status="draft")
    response = client_for(admin).post(
        analysis_url(draft), settings_form(**rows(*dimensions)), follow=True
    )
    refusal = message(response, "error")
    assert refusal == "Nothing changed: " + "; ".join(
        api_refusal(draft, admin, {"breakdowns": sent})
    )
    assert "analysis.breakdowns" in refusal
    draft.refresh_from_db()
    assert draft.analysis == {}
    assert not AuditLogEntry.objects.filter(action=Action.UPDATE).exists()
