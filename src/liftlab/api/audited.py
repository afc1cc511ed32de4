"""Viewset behaviour shared by every resource that the audit log follows."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from liftlab.audit.models import Action, ObjectType
from liftlab.audit.services import record


class AuditedMixin:
    """Creates, changes and deletes that write an audit entry in the same transaction.

    Subclasses name their ``audit_object_type``; ``save_kwargs()`` supplies the parent
    objects a new row needs, and ``delete_instance()`` says what "delete" means (soft
    delete for metrics and experiments).
    """

    audit_object_type: ObjectType

    def audit_environment(self, obj: Any):
        return self.environment

    def audit(
        self,
        action: Action,
        obj: Any,
        before: dict | None,
        after: dict | None,
        object_type: ObjectType | None = None,
    ) -> None:
        record(
            environment=self.audit_environment(obj),
            actor=self.request.user,
            action=action,
            object_type=object_type or self.audit_object_type,
            obj=obj,
            before=before,
            after=after,
        )

    def snapshot(self, obj: Any) -> dict:
        return dict(self.get_serializer(obj).data)

    def save_kwargs(self) -> dict:
        return {}

    def delete_instance(self, instance: Any) -> None:
        instance.delete()

    def perform_create(self, serializer) -> None:
        with transaction.atomic():
            obj = serializer.save(**self.save_kwargs())
            self.audit(Action.CREATE, obj, None, self.snapshot(obj))

    def perform_update(self, serializer) -> None:
        before = self.snapshot(serializer.instance)
        with transaction.atomic():
            obj = serializer.save()
            self.audit(Action.UPDATE, obj, before, self.snapshot(obj))

    def perform_destroy(self, instance: Any) -> None:
        before = self.snapshot(instance)
        with transaction.atomic():
            self.audit(Action.DELETE, instance, before, None)
            self.delete_instance(instance)
