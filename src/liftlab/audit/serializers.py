from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from liftlab.audit.models import AuditLogEntry


@extend_schema_field({"type": ["object", "null"], "additionalProperties": True})
class Snapshot(serializers.JSONField):
    """The object's API representation before or after the change; null for none.

    drf-spectacular documents a nullable JSONField as ``oneOf: [{}, null]``, which no null
    satisfies (it matches both).
    """


class AuditLogEntrySerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name", read_only=True)
    before = Snapshot(read_only=True)
    after = Snapshot(read_only=True)

    class Meta:
        model = AuditLogEntry
        fields = [
            "id",
            "created_at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "before",
            "after",
        ]
