"""The audit log: who changed what, when, with the state before and after."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    STATUS_CHANGE = "status_change"
    ROTATE = "rotate"
    REVOKE = "revoke"


class ObjectType(models.TextChoices):
    ENVIRONMENT = "environment"
    MEMBER = "member"
    METRIC = "metric"
    EXPERIMENT = "experiment"
    ATTACHMENT = "attachment"
    INGESTION_KEY = "ingestion_key"


class AuditLogEntry(models.Model):
    environment = models.ForeignKey(
        "accounts.Environment", on_delete=models.CASCADE, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=20, choices=ObjectType.choices)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=300)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)

    class Meta:
        ordering = ["-created_at", "-id"]
