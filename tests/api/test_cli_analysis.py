"""`liftlab analysis ENV EXPERIMENT`: settings shown, or changed by the API's rules and audited."""

from __future__ import annotations

import json

import pytest

from liftlab.audit.models import Action, AuditLogEntry
from liftlab.cli import main

from . import paths


@pytest.fixture
def experiment(create_experiment) -> dict:
    return create_experiment()


def run(capsys, environment, experiment, *options: str) -> tuple[int, str, str]:
    code = main(["analysis", environment.key, str(experiment["id"]), *options])
    out, err = capsys.readouterr()
    return code, out, err


def served(admin, environment, experiment) -> dict:
    response = admin.get(paths.experiments(environment.key, experiment["id"]))
    assert response.status_code == 200
    return response.json()


def updates(experiment) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(action=Action.UPDATE, object_id=str(experiment["id"])))


def test_without_changes_it_prints_the_settings_in_words_and_as_json(
    capsys, admin, environment, experiment
):
    code, out, _ = run(capsys, environment, experiment)
    assert code == 0
    assert "method" in out and "frequentist, fixed horizon" in out
    assert "Benjamini–Hochberg" in out and "α = 0.05, 95 % CI" in out
    code, out, _ = run(capsys, environment, experiment, "--json")
    assert code == 0 and json.loads(out) == served(admin, environment, experiment)["analysis"]
    assert updates(experiment) == []


def test_a_change_is_saved_dated_after_start_and_audited_with_before_and_after(
    capsys, admin, admin_user, environment, experiment, transition
):
    transition(experiment["id"], "start")
    code, out, err = run(
        capsys,
        environment,
        experiment,
        "--sequential",
        "--sequential-tuning",
        "20000",
        "--correction",
        "holm",
        "--actor",
        admin_user.username,
    )
    assert code == 0, err
    assert "Changed as alice" in out and 'correction "benjamini_hochberg" → "holm"' in out
    assert "always-valid (sequential) intervals" in out and "20,000 identities" in out
    assert "Changed after the start" in out
    now = served(admin, environment, experiment)
    assert now["analysis"]["sequential"] is True
    assert now["analysis"]["sequential_tuning"] == 20000
    assert now["analysis"]["correction"] == "holm"
    assert now["analysis"]["alpha"] == 0.05  # what was not named stays
    assert now["analysis_changed_at"] is not None
    (entry,) = updates(experiment)
    assert entry.actor == admin_user
    assert entry.before["analysis"]["correction"] == "benjamini_hochberg"
    assert entry.after["analysis"]["correction"] == "holm"
    assert entry.before["analysis_changed_at"] is None
    assert entry.after == now


def test_the_prior_keeps_the_part_not_given_and_flat_clears_it(
    capsys, admin, admin_user, environment, experiment
):
    actor = ("--actor", admin_user.username)
    assert (
        run(capsys, environment, experiment, "--engine", "bayesian", "--prior-sd", "0.1", *actor)[0]
        == 0
    )
    assert served(admin, environment, experiment)["analysis"]["prior"] == {"mean": 0.0, "sd": 0.1}
    assert run(capsys, environment, experiment, "--prior-mean", "0.02", *actor)[0] == 0
    assert served(admin, environment, experiment)["analysis"]["prior"] == {"mean": 0.02, "sd": 0.1}
    code, out, _ = run(capsys, environment, experiment, "--flat-prior", *actor)
    assert code == 0 and "flat" in out
    assert served(admin, environment, experiment)["analysis"]["prior"] == {"mean": 0.0, "sd": None}
    assert len(updates(experiment)) == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--alpha", "0.7"], "liftlab: analysis.alpha: "),
        (["--engine", "magic"], "liftlab: analysis.engine: "),
        (
            ["--engine", "bayesian", "--sequential"],
            "liftlab: analysis.sequential: is a frequentist",
        ),
        (["--prior-sd", "-1"], "liftlab: analysis.prior.sd: "),
        (["--chance-to-win-threshold", "0.3"], "liftlab: analysis.chance_to_win_threshold: "),
        (["--flat-prior", "--prior-sd", "1"], "liftlab: --flat-prior takes no"),
    ],
)
def test_invalid_settings_are_refused_naming_the_field(
    capsys, admin, admin_user, environment, experiment, options, message
):
    code, _, err = run(capsys, environment, experiment, *options, "--actor", admin_user.username)
    assert code == 2 and err.startswith(message), err
    assert served(admin, environment, experiment)["analysis"]["alpha"] == 0.05
    assert updates(experiment) == []


def test_a_change_needs_an_admin_as_actor(
    capsys, environment, experiment, viewer_user, outsider_user
):
    code, _, err = run(capsys, environment, experiment, "--alpha", "0.01")
    assert code == 2 and "--actor USERNAME is needed" in err
    code, _, err = run(capsys, environment, experiment, "--alpha", "0.01", "--actor", "nobody")
    assert code == 2 and "no active user named 'nobody'" in err
    for user in (viewer_user, outsider_user):
        code, _, err = run(
            capsys, environment, experiment, "--alpha", "0.01", "--actor", user.username
        )
        assert code == 2 and "Only the environment's admins may change this." in err
    assert updates(experiment) == []


def test_a_completed_experiment_keeps_its_settings(
    capsys, admin_user, environment, experiment, transition
):
    transition(experiment["id"], "start", "complete")
    code, _, err = run(capsys, environment, experiment, "--alpha", "0.01", "--actor", "alice")
    assert code == 2
    assert err.startswith("liftlab: analysis: cannot change once the experiment is completed")
    assert admin_user.username == "alice"


def test_repeating_the_current_settings_changes_nothing(capsys, environment, experiment):
    code, out, _ = run(capsys, environment, experiment, "--alpha", "0.05", "--actor", "alice")
    assert code == 0 and "nothing changed" in out
    assert updates(experiment) == []


def test_an_unknown_experiment_is_named(capsys, environment):
    assert main(["analysis", environment.key, "999999"]) == 2
    assert "no experiment 999999" in capsys.readouterr().err
