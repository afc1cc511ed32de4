"""Ingestion keys: the credentials event senders use, separate from the environment's key.

An environment's key names it in every URL and every member can read it; an ingestion key is
a secret only admins create, see once, revoke and rotate (docs/ingestion-keys.md).
"""
