"""The secret itself: how it is made, recognised and hashed. Plain Python, no Django.

A key reads ``ll_ik_<12 letters or digits>_<43 URL-safe characters>``: the first part is its
public prefix (stored, shown in lists, looked up by), the last 32 random bytes are what makes it
a secret. Only the SHA-256 of the whole key is stored: with 256 random bits nothing can be
guessed, so a slow password hash would only slow ingestion down.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

PREFIX = "ll_ik_"
PUBLIC_LENGTH = 12
PREFIX_LENGTH = len(PREFIX) + PUBLIC_LENGTH
_ALPHABET = string.ascii_letters + string.digits
_SECRET_BYTES = 32  # token_urlsafe(32): 43 characters
KEY_PATTERN = re.compile(rf"{PREFIX}[A-Za-z0-9]{{{PUBLIC_LENGTH}}}_[A-Za-z0-9_-]{{43}}")


@dataclass(frozen=True, repr=False)
class NewKey:
    """A freshly made key: ``secret`` goes to the caller once, ``prefix`` and ``digest`` are
    stored. No repr: a log line or traceback must not print the secret."""

    prefix: str
    secret: str
    digest: str


def new_key() -> NewKey:
    prefix = PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(PUBLIC_LENGTH))
    secret = f"{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    return NewKey(prefix, secret, digest(secret))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def prefix_of(presented: str) -> str | None:
    """The prefix of something shaped like a key, else None (nothing odd reaches the database)."""
    if not KEY_PATTERN.fullmatch(presented):
        return None
    return presented[:PREFIX_LENGTH]


def matches(presented: str, stored_digest: str) -> bool:
    """Constant-time comparison of the presented key's hash with the stored one."""
    return hmac.compare_digest(digest(presented), stored_digest)
