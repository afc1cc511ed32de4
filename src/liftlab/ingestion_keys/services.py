"""Creating, rotating and revoking ingestion keys (each audited), and recording their use.

The API, the pages and ``liftlab keys`` all go through these functions, so the rules (a valid
name, admins only, an audit entry without the secret) are the same everywhere. Callers check
that the actor is an admin; these functions record who it was.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from liftlab.accounts.models import Environment
from liftlab.audit.models import Action, ObjectType
from liftlab.audit.services import record
from liftlab.ingestion_keys import tokens
from liftlab.ingestion_keys.models import IngestionKey
from liftlab.ingestion_keys.serializers import IngestionKeySerializer

logger = logging.getLogger(__name__)

# ``last_used_at`` is written at most this often per key: ingestion reads the key's row on every
# batch anyway, and a write per batch would make every sender contend for the database.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class KeyRevoked(Exception):
    """A revoked key cannot be rotated: make a new one."""


def snapshot(key: IngestionKey) -> dict:
    """The audit log's view of a key: the API's representation, which has no secret."""
    return dict(IngestionKeySerializer(key).data)


def validated_name(environment: Environment, name: object) -> str:
    """The name as the API would take it, or DRF's ``ValidationError`` naming ``name``."""
    serializer = IngestionKeySerializer(data={"name": name}, context={"environment": environment})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["name"]


def _audit(action: Action, key: IngestionKey, actor, before: dict | None, after: dict | None):
    record(
        environment=key.environment,
        actor=actor,
        action=action,
        object_type=ObjectType.INGESTION_KEY,
        obj=key,
        before=before,
        after=after,
    )


def _with_fresh_secret(save) -> str:
    """Make a secret and ``save(new)`` it; a (vanishingly rare) prefix collision tries again."""
    for _ in range(5):
        new = tokens.new_key()
        try:
            with transaction.atomic():
                save(new)
        except IntegrityError:
            continue
        return new.secret
    raise RuntimeError("could not make a unique ingestion key prefix")


def create_key(environment: Environment, name: str, actor) -> tuple[IngestionKey, str]:
    """A new active key and its secret (to be shown once); ``name`` is validated here."""
    name = validated_name(environment, name)
    key = IngestionKey(environment=environment, name=name)

    def save(new: tokens.NewKey) -> None:
        key.pk = None
        key.prefix, key.secret_hash = new.prefix, new.digest
        key.save()
        _audit(Action.CREATE, key, actor, None, snapshot(key))

    return key, _with_fresh_secret(save)


def rotate_key(key: IngestionKey, actor) -> str:
    """A new secret for the same key (same id and name); the old secret stops working at once."""
    if not key.active:
        raise KeyRevoked("the key is revoked; create a new one instead.")
    before = snapshot(key)

    def save(new: tokens.NewKey) -> None:
        updated = IngestionKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            prefix=new.prefix, secret_hash=new.digest, rotated_at=timezone.now(), last_used_at=None
        )
        if not updated:
            raise KeyRevoked("the key is revoked; create a new one instead.")
        key.refresh_from_db()
        _audit(Action.ROTATE, key, actor, before, snapshot(key))

    return _with_fresh_secret(save)


def revoke_key(key: IngestionKey, actor) -> IngestionKey:
    """Revoke the key now (its next batch gets 401); revoking a revoked key changes nothing."""
    if not key.active:
        return key
    before = snapshot(key)
    with transaction.atomic():
        updated = IngestionKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        key.refresh_from_db()
        if updated:
            _audit(Action.REVOKE, key, actor, before, snapshot(key))
    return key


def set_legacy_ingestion(environment: Environment, enabled: bool, actor) -> bool:
    """Switch ``legacy_environment_key_ingestion``, audited as the API's PATCH would be.

    Returns whether anything changed.
    """
    from liftlab.accounts.serializers import EnvironmentSerializer

    if environment.legacy_environment_key_ingestion == enabled:
        return False
    before = dict(EnvironmentSerializer(environment).data)
    with transaction.atomic():
        environment.legacy_environment_key_ingestion = enabled
        environment.save(update_fields=["legacy_environment_key_ingestion"])
        record(
            environment=environment,
            actor=actor,
            action=Action.UPDATE,
            object_type=ObjectType.ENVIRONMENT,
            obj=environment,
            before=before,
            after=dict(EnvironmentSerializer(environment).data),
        )
    return True


# prefix → monotonic time this process last wrote the key's last_used_at (the prefix, not the
# id: it is never reused, and a rotated key's new prefix is recorded at once)
_written: dict[str, float] = {}
_written_lock = threading.Lock()


def record_use(key: IngestionKey) -> None:
    """Move ``last_used_at`` forward if it is more than a minute old; never fails the batch.

    The row just read says whether a write is due; a per-process note keeps concurrent batches
    of one sender from all writing in the same minute, and the UPDATE's own condition keeps
    other processes from writing again. A database error is logged, not raised.
    """
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    clock = time.monotonic()
    with _written_lock:
        last = _written.get(key.prefix)
        if last is not None and clock - last < LAST_USED_RESOLUTION.total_seconds():
            return
        _written[key.prefix] = clock
        if len(_written) > 10_000:  # forget what no longer holds a write back
            horizon = clock - LAST_USED_RESOLUTION.total_seconds()
            for prefix in [p for p, at in _written.items() if at < horizon]:
                del _written[prefix]
    try:
        _write_last_used(key.pk, now)
    except DatabaseError:
        logger.warning("could not record the use of ingestion key %s", key.prefix, exc_info=True)


def _write_last_used(key_id: int, now) -> None:
    """One conditional UPDATE (in a savepoint, so a failure leaves any transaction usable)."""
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
    with transaction.atomic():
        IngestionKey.objects.filter(stale, pk=key_id).update(last_used_at=now)
