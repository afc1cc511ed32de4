"""Ingestion keys over the API: the secret appears only in the answer that made it."""

from __future__ import annotations

from rest_framework import serializers

from liftlab.api.validators import StrictModelSerializer, TextField
from liftlab.ingestion_keys.models import IngestionKey

MAX_ACTIVE_KEYS = 100


class NameField(TextField):
    """A JSON string only: ``12`` is refused, not stored as ``"12"``."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError("must be a string.")
        return super().to_internal_value(data)


class IngestionKeySerializer(StrictModelSerializer):
    """What lists, the audit log and every answer show: the prefix, never the secret."""

    name = NameField(max_length=200, help_text="What the key is for, e.g. 'web app (prod)'.")
    prefix = serializers.CharField(
        read_only=True, help_text="The key's public start: enough to recognise it, not to use it."
    )
    active = serializers.BooleanField(read_only=True, help_text="Not revoked.")

    class Meta:
        model = IngestionKey
        fields = [
            "id",
            "name",
            "prefix",
            "active",
            "created_at",
            "rotated_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = ["id", "created_at", "rotated_at", "last_used_at", "revoked_at"]

    def validate_name(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("must not be blank.")
        return value

    def validate(self, attrs: dict) -> dict:
        environment = self.context.get("environment")
        if environment is not None and self.instance is None:
            active = IngestionKey.objects.filter(environment=environment, revoked_at__isnull=True)
            if active.count() >= MAX_ACTIVE_KEYS:
                raise serializers.ValidationError(
                    {
                        "name": f"the environment already has {MAX_ACTIVE_KEYS} active ingestion "
                        "keys; revoke one first."
                    }
                )
        return attrs


class IssuedIngestionKeySerializer(IngestionKeySerializer):
    """The answer to a creation or a rotation: the key's fields and, this once, its secret."""

    key = serializers.CharField(
        read_only=True,
        help_text="The full secret, `ll_ik_…`: shown only in this answer, never again. Send it "
        "as `Authorization: Bearer <key>` to `POST /api/v1/events/`.",
    )

    class Meta(IngestionKeySerializer.Meta):
        fields = [*IngestionKeySerializer.Meta.fields, "key"]


def issued(key: IngestionKey, secret: str) -> dict:
    return {**IngestionKeySerializer(key).data, "key": secret}
