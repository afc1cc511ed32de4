"""An environment admin learns nothing of what lies outside their environments.

Adding a member used to answer "does not exist" for an unknown username and 201 for anyone
else, so any admin could probe which usernames exist; attaching a metric answered "does not
exist" for an unknown id and "must belong to the experiment's environment" for another
environment's. Now "no such thing" and "not yours" are the same answer, status and message.
"""

from __future__ import annotations

import pytest

from liftlab.accounts.models import Membership, Role

from . import paths
from .conftest import make_user
from .expect import created, refused


def add(client, environment, username: str):
    body = {"username": username, "role": "viewer"}
    return client.post(paths.members(environment.key), body, format="json")


def test_an_unknown_and_an_unrelated_username_get_the_same_answer(
    admin, environment, outsider_user, other_environment
):
    unknown = add(admin, environment, "nobody-has-this-name")
    unrelated = add(admin, environment, outsider_user.username)  # olga exists, shares nothing

    assert unknown.status_code == unrelated.status_code == 400
    assert unknown.json() == unrelated.json()
    assert "olga" not in unrelated.content.decode()


def test_an_admin_adds_someone_who_shares_an_environment_with_them(
    admin, environment, colleague_user
):
    assert created(add(admin, environment, colleague_user.username))["username"] == "olga"


def test_a_superuser_adds_anyone(superuser, environment):
    make_user("newcomer")

    assert created(add(superuser, environment, "newcomer"))["username"] == "newcomer"
    refused(add(superuser, environment, "nobody-has-this-name"), 400, "username")


def test_people_become_addable_once_they_share_an_environment(
    outsider, outsider_user, viewer_user, environment, other_environment
):
    """olga administers her own environment; victor, a viewer of alice's, is no one to her
    until she too belongs to alice's (as a viewer is enough)."""
    refused(add(outsider, other_environment, viewer_user.username), 400, "username")
    Membership.objects.create(environment=environment, user=outsider_user, role=Role.VIEWER)

    created(add(outsider, other_environment, viewer_user.username))


@pytest.fixture
def experiment(create_experiment):
    return create_experiment()


def test_an_unknown_and_another_environments_metric_get_the_same_answer(
    admin, environment, experiment, create_metric, outsider, other_environment
):
    theirs = create_metric(key=other_environment.key, client=outsider)
    url = paths.attachments(environment.key, experiment["id"])

    def attach(metric_id):
        body = {"metric": metric_id, "expected_direction": "increase"}
        return admin.post(url, body, format="json")

    unknown_id = theirs["id"] + 1000
    foreign, unknown = attach(theirs["id"]), attach(unknown_id)

    assert foreign.status_code == unknown.status_code == 400
    same_words = [m.replace(str(unknown_id), str(theirs["id"])) for m in unknown.json()["metric"]]
    assert foreign.json() == {"metric": same_words}
