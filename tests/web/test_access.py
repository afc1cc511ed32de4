"""Who sees and does what: the API's permissions, answered by the pages."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from tests.web.conftest import (
    PASSWORD,
    cache_document,
    client_for,
    freeze_document,
    make_user,
    new_experiment,
)
from tests.web.documents import for_experiment

from liftlab.accounts.models import Environment, Membership
from liftlab.audit.models import Action, AuditLogEntry
from liftlab.experiments.models import ExperimentStatus, ResultCache

pytestmark = pytest.mark.django_db


def pages(experiment) -> list[str]:
    key = experiment.environment.key
    return [
        reverse("web:experiments", kwargs={"key": key}),
        reverse("web:metrics", kwargs={"key": key}),
        reverse("web:experiment", kwargs={"key": key, "pk": experiment.pk}),
    ]


def action_url(experiment, action: str) -> str:
    key = experiment.environment.key
    return reverse("web:action", kwargs={"key": key, "pk": experiment.pk, "action": action})


def analysis_url(experiment) -> str:
    return reverse("web:analysis", kwargs={"key": experiment.environment.key, "pk": experiment.pk})


def settings_form(**changes: str) -> dict[str, str]:
    """The form as the page fills it for default settings, with some fields changed."""
    return {
        "engine": "frequentist",
        "scale": "relative",
        "correction": "benjamini_hochberg",
        "alpha": "0.05",
        "sequential_tuning": "5000.0",
        "prior_mean": "0.0",
        "prior_sd": "",
        "chance_to_win_threshold": "0.95",
        **changes,
    }


def test_signed_out_visitors_are_sent_to_sign_in(experiment):
    for url in ["/", *pages(experiment)]:
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_sign_in_with_password_then_sign_out(environment):
    make_user("sam", password=PASSWORD)
    client = Client()
    refused = client.post("/login/", {"username": "sam", "password": "wrong"})
    assert refused.status_code == 200
    assert b"Please enter a correct username and password" in refused.content
    signed_in = client.post("/login/", {"username": "sam", "password": PASSWORD})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_non_members_get_404_everywhere(experiment, outsider):
    client = client_for(outsider)
    for url in pages(experiment):
        assert client.get(url).status_code == 404
    assert client.post(action_url(experiment, "pause")).status_code == 404
    assert b"Shop" not in client.get("/").content


def test_unknown_experiments_and_actions_are_404(experiment, admin, environment, metrics):
    client = client_for(admin)
    key = environment.key
    assert (
        client.get(reverse("web:experiment", kwargs={"key": key, "pk": 999999})).status_code == 404
    )
    assert client.post(action_url(experiment, "delete")).status_code == 404
    experiment.deleted_at = experiment.started_at
    experiment.save()
    assert client.get(pages(experiment)[2]).status_code == 404


def test_an_experiment_is_only_found_under_its_own_environment(experiment, admin):
    other = make_user("olga")
    elsewhere = Environment.objects.create(name="Elsewhere")
    Membership.objects.create(environment=elsewhere, user=admin, role="admin")
    url = reverse("web:experiment", kwargs={"key": elsewhere.key, "pk": experiment.pk})
    assert client_for(admin).get(url).status_code == 404
    assert client_for(other).get(url).status_code == 404


def test_disabled_experimentation_is_explained(experiment, viewer, environment):
    environment.experimentation_enabled = False
    environment.save()
    client = client_for(viewer)
    for url in pages(experiment):
        response = client.get(url)
        assert response.status_code == 403
        assert b"Experimentation is disabled for this environment." in response.content
    home = client.get("/").content.decode()
    assert "Shop" in home and "disabled" in home
    assert reverse("web:experiments", kwargs={"key": environment.key}) not in home


def test_viewers_see_but_cannot_act(experiment, metrics, viewer):
    cache_document(experiment, for_experiment(experiment, metrics))
    client = client_for(viewer)
    page = client.get(pages(experiment)[2]).content.decode()
    assert "Checkout" in page
    assert action_url(experiment, "pause") not in page
    assert action_url(experiment, "refresh") not in page
    assert analysis_url(experiment) not in page
    for url in [action_url(experiment, a) for a in ("pause", "complete", "refresh")] + [
        analysis_url(experiment)
    ]:
        response = client.post(url, {"alpha": "0.01"})
        assert response.status_code == 403
        assert b"Only the environment&#x27;s admins may change this." in response.content
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.RUNNING
    assert experiment.analysis == {}


def test_admins_act_with_post_forms_and_the_change_is_audited(environment, metrics, admin):
    draft = new_experiment(environment, metrics, status="draft")
    client = client_for(admin)
    page = client.get(pages(draft)[2]).content.decode()
    assert f'action="{action_url(draft, "start")}"' in page
    assert "csrfmiddlewaretoken" in page
    assert client.get(action_url(draft, "start")).status_code == 405
    response = client.post(action_url(draft, "start"))
    assert response.status_code == 302 and response["Location"] == pages(draft)[2]
    draft.refresh_from_db()
    assert draft.status == ExperimentStatus.RUNNING and draft.started_at is not None
    entry = AuditLogEntry.objects.get(action=Action.STATUS_CHANGE, object_id=str(draft.pk))
    assert entry.actor == admin
    assert (entry.before["status"], entry.after["status"]) == ("draft", "running")


def test_a_refused_transition_is_a_message_not_an_error(environment, metrics, admin):
    draft = new_experiment(environment, metrics, status="draft")
    client = client_for(admin)
    response = client.post(action_url(draft, "pause"), follow=True)
    assert response.status_code == 200
    assert "cannot pause an experiment that is draft." in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == ExperimentStatus.DRAFT


def test_refresh_respects_the_api_throttle(experiment, metrics, admin):
    cache_document(experiment, for_experiment(experiment, metrics))
    response = client_for(admin).post(action_url(experiment, "refresh"), follow=True)
    assert "they can be refreshed again after" in response.content.decode()


def test_actions_need_a_csrf_token(experiment, admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    assert client.post(action_url(experiment, "pause")).status_code == 403
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.RUNNING


def test_superusers_see_every_environment_as_admin(environment):
    page = client_for(make_user("root", superuser=True)).get("/").content.decode()
    assert "Shop" in page and "admin" in page


@pytest.mark.parametrize(
    ("status", "why"),
    [
        ("draft", "This one has not started: it has no results yet."),
        ("paused", "This one is paused: its results stay as they are until it resumes."),
        ("completed", "This one is completed: its results are final."),
    ],
)
def test_only_running_experiments_refresh_and_the_refusal_says_why(
    environment, metrics, admin, status, why
):
    done = status == "completed"
    stopped = new_experiment(
        environment, metrics, status=status, ended_at=timezone.now() if done else None
    )
    if done:
        freeze_document(stopped, for_experiment(stopped, metrics, final=True))
    elif status == "paused":
        cache_document(stopped, for_experiment(stopped, metrics))
    before = ResultCache.objects.filter(experiment=stopped).values_list("computed_at", flat=True)
    before = list(before)
    response = client_for(admin).post(action_url(stopped, "refresh"), follow=True)
    assert response.status_code == 200
    message = re.search(r'class="message message-error"[^>]*>(.*?)</li>', response.content.decode())
    assert message and unescape(message.group(1)) == (
        f"Only a running experiment's results can be refreshed. {why}"
    )
    after = ResultCache.objects.filter(experiment=stopped).values_list("computed_at", flat=True)
    assert list(after) == before  # nothing was recomputed


def test_an_unreachable_event_store_is_a_503_that_changes_nothing(
    experiment, admin, environment, settings
):
    settings.EVENTSTORE_URL = "clickhouse://default:@127.0.0.1:9/default"
    client = client_for(admin)
    for url in (pages(experiment)[0], pages(experiment)[2]):
        response = client.get(url)
        assert response.status_code == 503
        assert b"The event store did not answer" in response.content
    response = client.post(action_url(experiment, "complete"))
    assert response.status_code == 503 and b"Nothing was changed." in response.content
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.RUNNING


def test_admins_change_the_analysis_through_the_api_serializer_and_the_audit_log(
    experiment, metrics, admin
):
    cache_document(experiment, for_experiment(experiment, metrics))
    client = client_for(admin)
    page = client.get(pages(experiment)[2]).content.decode()
    assert f'action="{analysis_url(experiment)}"' in page
    assert '<label for="analysis-alpha">' in page and 'id="analysis-alpha"' in page
    assert "a change is recorded in the audit log" in page  # it is running
    assert client.get(analysis_url(experiment)).status_code == 405
    response = client.post(
        analysis_url(experiment), settings_form(alpha="0.01", sequential="on"), follow=True
    )
    assert response.redirect_chain == [(pages(experiment)[2], 302)]
    html = response.content.decode()
    assert "Analysis settings saved: sequential false → true, alpha 0.05 → 0.01." in html
    assert "Analysis changed after start." in html  # recomputed with the new settings
    assert "always-valid (sequential) intervals" in html
    experiment.refresh_from_db()
    assert experiment.analysis["alpha"] == 0.01 and experiment.analysis["sequential"] is True
    assert experiment.analysis_changed_at is not None
    entry = AuditLogEntry.objects.get(action=Action.UPDATE, object_id=str(experiment.pk))
    assert entry.actor == admin
    assert (entry.before["analysis"]["alpha"], entry.after["analysis"]["alpha"]) == (0.05, 0.01)
    assert entry.before["analysis_changed_at"] is None
    assert entry.after["analysis_changed_at"] is not None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"alpha": "0.7"}, "Nothing changed: analysis.alpha: Input should be less than 0.5"),
        ({"alpha": "low"}, "Nothing changed: alpha: &#x27;low&#x27; is not a number."),
        (
            {"engine": "bayesian", "sequential": "on"},
            "Nothing changed: analysis.sequential: is a frequentist method",
        ),
        ({"correction": "bonferroni"}, "Nothing changed: analysis.correction: Input should be"),
        ({}, "Nothing changed: the settings already are so."),
    ],
)
def test_refused_settings_are_a_message_and_change_nothing(experiment, admin, changes, message):
    response = client_for(admin).post(
        analysis_url(experiment), settings_form(**changes), follow=True
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    experiment.refresh_from_db()
    assert experiment.analysis == {} and experiment.analysis_changed_at is None
    assert not AuditLogEntry.objects.filter(action=Action.UPDATE).exists()


def test_a_draft_changes_its_settings_without_a_change_after_start(environment, metrics, admin):
    draft = new_experiment(environment, metrics, status="draft")
    response = client_for(admin).post(
        analysis_url(draft), settings_form(engine="bayesian", prior_sd="0.05"), follow=True
    )
    html = response.content.decode()
    assert "Analysis settings saved: engine" in html and "has started" not in html
    draft.refresh_from_db()
    assert draft.analysis["prior"] == {"mean": 0.0, "sd": 0.05}
    assert draft.analysis_changed_at is None


def test_a_completed_experiment_refuses_a_settings_change(environment, metrics, admin):
    done = new_experiment(environment, metrics, status="completed", ended_at=timezone.now())
    freeze_document(done, for_experiment(done, metrics, final=True))
    client = client_for(admin)
    assert analysis_url(done) not in client.get(pages(done)[2]).content.decode()
    response = client.post(analysis_url(done), settings_form(alpha="0.01"), follow=True)
    assert "analysis: cannot change once the experiment is completed" in (response.content.decode())
    done.refresh_from_db()
    assert done.analysis == {}


def test_a_settings_change_needs_a_csrf_token(experiment, admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    assert client.post(analysis_url(experiment), settings_form(alpha="0.01")).status_code == 403
    experiment.refresh_from_db()
    assert experiment.analysis == {}
