"""Writing audit entries: one call per change, from the services that make the change."""

from __future__ import annotations

from typing import Any

from liftlab.audit.models import Action, AuditLogEntry, ObjectType


def record(
    *,
    environment,
    actor,
    action: Action,
    object_type: ObjectType,
    obj: Any,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditLogEntry:
    """Write one entry; ``before``/``after`` are the API representations of the object."""
    return AuditLogEntry.objects.create(
        environment=environment,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        object_type=object_type,
        object_id=str(obj.pk),
        object_repr=str(obj)[:300],
        before=before,
        after=after,
    )
