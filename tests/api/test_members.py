"""Memberships: admins add, change and remove members; an environment keeps an admin."""

from __future__ import annotations

import pytest

from liftlab.accounts.models import Membership, Role

from . import paths
from .bodies import metric_body
from .expect import created, ok, refused


def add(client, environment, username: str, role: str):
    body = {"username": username, "role": role}
    return client.post(paths.members(environment.key), body, format="json")


def test_members_are_listed_with_their_roles(viewer, environment):
    members = ok(viewer.get(paths.members(environment.key)))

    assert [(m["username"], m["role"]) for m in members] == [
        ("alice", "admin"),
        ("victor", "viewer"),
    ]
    assert set(members[0]) == {"id", "username", "role", "created_at"}


def test_a_member_is_read_by_username(viewer, environment):
    member = ok(viewer.get(paths.members(environment.key, "alice")))

    assert (member["username"], member["role"]) == ("alice", "admin")


def test_an_unknown_username_in_the_url_is_404(admin, environment):
    refused(admin.get(paths.members(environment.key, "nobody")), 404)


def test_an_added_viewer_reads_but_cannot_write(admin, outsider, colleague_user, environment):
    member = created(add(admin, environment, "olga", "viewer"))

    assert (member["username"], member["role"]) == ("olga", "viewer")
    ok(outsider.get(paths.environment(environment.key)))
    refused(outsider.post(paths.metrics(environment.key), metric_body(), format="json"), 403)


def test_an_added_admin_manages_metrics(admin, outsider, colleague_user, environment):
    created(add(admin, environment, "olga", "admin"))

    created(outsider.post(paths.metrics(environment.key), metric_body(), format="json"))


@pytest.mark.parametrize(
    ("username", "role", "field"),
    [
        ("victor", "viewer", "username"),  # already a member
        ("nobody", "viewer", "username"),  # no such user
        ("olga", "owner", "role"),
        ("olga", "", "role"),
    ],
)
def test_invalid_additions_are_400(admin, outsider_user, environment, username, role, field):
    refused(add(admin, environment, username, role), 400, field)

    assert environment.memberships.count() == 2


def test_an_admin_changes_a_role(admin, viewer, environment):
    url = paths.members(environment.key, "victor")

    assert ok(admin.patch(url, {"role": "admin"}, format="json"))["role"] == "admin"
    created(viewer.post(paths.metrics(environment.key), metric_body(), format="json"))


def test_the_username_of_a_membership_cannot_change(admin, outsider_user, environment):
    url = paths.members(environment.key, "victor")

    refused(admin.patch(url, {"username": "olga"}, format="json"), 400, "username")


def test_a_removed_member_loses_access(admin, viewer, environment):
    assert admin.delete(paths.members(environment.key, "victor")).status_code == 204

    refused(viewer.get(paths.environment(environment.key)), 404)
    assert not environment.memberships.filter(user__username="victor").exists()


def test_the_last_admin_cannot_be_demoted(admin, environment):
    url = paths.members(environment.key, "alice")

    body = refused(admin.patch(url, {"role": "viewer"}, format="json"), 400, "role")

    assert "admin" in str(body["role"])
    assert environment.memberships.get(user__username="alice").role == Role.ADMIN


def test_the_last_admin_cannot_be_removed(admin, environment):
    refused(admin.delete(paths.members(environment.key, "alice")), 400, "role")

    assert environment.memberships.filter(user__username="alice", role=Role.ADMIN).exists()


def test_an_admin_can_step_down_while_another_admin_remains(admin, environment):
    Membership.objects.filter(environment=environment, user__username="victor").update(
        role=Role.ADMIN
    )

    demoted = admin.patch(
        paths.members(environment.key, "alice"), {"role": "viewer"}, format="json"
    )
    assert ok(demoted)["role"] == "viewer"
    assert admin.delete(paths.members(environment.key, "alice")).status_code == 403


def test_an_admin_can_leave_while_another_admin_remains(admin, environment):
    Membership.objects.filter(environment=environment, user__username="victor").update(
        role=Role.ADMIN
    )

    assert admin.delete(paths.members(environment.key, "alice")).status_code == 204
    assert list(environment.memberships.values_list("user__username", flat=True)) == ["victor"]


def test_viewers_cannot_manage_members(viewer, outsider_user, environment):
    refused(add(viewer, environment, "olga", "viewer"), 403)
    url = paths.members(environment.key, "victor")
    refused(viewer.patch(url, {"role": "admin"}, format="json"), 403)
    refused(viewer.delete(paths.members(environment.key, "alice")), 403)

    assert environment.memberships.count() == 2


def test_a_superuser_manages_members_without_being_one(superuser, outsider_user, environment):
    created(add(superuser, environment, "olga", "viewer"))
