"""An environment's ingestion keys: several per environment, each revocable on its own."""

from __future__ import annotations

from django.db import models


class IngestionKey(models.Model):
    environment = models.ForeignKey(
        "accounts.Environment", on_delete=models.CASCADE, related_name="ingestion_keys"
    )
    name = models.CharField(max_length=200)
    # "ll_ik_" and 12 random letters or digits: public, unique, what a request is looked up by.
    prefix = models.CharField(max_length=32, unique=True)
    # SHA-256 (hex) of the whole key; the key itself is never stored.
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    # Updated at most once a minute per key (liftlab.ingestion_keys.services.record_use).
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
