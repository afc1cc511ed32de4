"""Environments and memberships over the API."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from liftlab.accounts.models import Environment, Membership, Role
from liftlab.api.validators import StrictModelSerializer, TextField


class UsernameField(serializers.SlugRelatedField):
    """A user the caller may add, by username: a superuser anyone, an admin only the people
    who share an environment with them.

    Every other name, whether or not such a user exists, gets the same answer, so adding a
    member is no way to learn which usernames exist. The name is checked as text first:
    PostgreSQL refuses even to compare a NUL character.
    """

    default_error_messages = {
        "does_not_exist": "no user by that name shares an environment with you "
        "(a superuser can add anyone).",
    }

    def get_queryset(self):
        users = get_user_model().objects.all()
        request = self.context.get("request")
        if request is None or request.user.is_superuser:
            return users
        shared = Membership.objects.filter(environment__memberships__user=request.user)
        return users.filter(pk__in=shared.values("user"))

    def to_internal_value(self, data):
        text = TextField().run_validation(data)
        return super().to_internal_value(text)


class EnvironmentSerializer(StrictModelSerializer):
    name = TextField(max_length=200)

    class Meta:
        model = Environment
        fields = [
            "id",
            "name",
            "key",
            "experimentation_enabled",
            "legacy_environment_key_ingestion",
            "created_at",
        ]
        read_only_fields = ["id", "key", "created_at"]

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("must not be blank.")
        return value


class MembershipSerializer(StrictModelSerializer):
    username = UsernameField(
        source="user", slug_field="username", queryset=get_user_model().objects.all()
    )
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate(self, attrs: dict) -> dict:
        environment = self.context["environment"]
        user = attrs.get("user")
        if self.instance is None and environment.memberships.filter(user=user).exists():
            raise serializers.ValidationError(
                {"username": "is already a member of this environment."}
            )
        if self.instance is not None and "user" in attrs and attrs["user"] != self.instance.user:
            raise serializers.ValidationError({"username": "cannot be changed; remove and re-add."})
        if self.instance is not None and attrs.get("role") == Role.VIEWER:
            ensure_another_admin(self.instance)
        return attrs


def ensure_another_admin(membership: Membership) -> None:
    """An environment always keeps at least one admin, so nobody locks everyone out."""
    if membership.role != Role.ADMIN:
        return
    others = membership.environment.memberships.filter(role=Role.ADMIN).exclude(pk=membership.pk)
    if not others.exists():
        raise serializers.ValidationError({"role": "the environment must keep at least one admin."})
