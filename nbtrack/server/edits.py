"""The changes a user makes from the sidebar: rename, notes, tags, delete and restore.

The work is :mod:`nbtrack.lifecycle.edits` (shared with the CLI and the Python API); these adapters
keep the handlers' ``(store, ref, ...)`` calling order. Deleting is soft and restorable.
"""

from __future__ import annotations

from typing import Any

from nbtrack.lifecycle import edits as manage
from nbtrack.store import Store

MAX_NOTES = manage.MAX_NOTES


def rename(store: Store, ref: str, name: Any) -> str:
    return manage.rename_run(ref, name, store=store)


def set_notes(store: Store, ref: str, notes: Any) -> str:
    return manage.set_run_notes(ref, notes, store=store)


def set_tags(store: Store, ref: str, tags: Any) -> str:
    """Add or replace tags ``{key: value}``."""
    return manage.set_run_tags(ref, tags, store=store)


def delete_tag(store: Store, ref: str, key: str) -> str:
    return manage.delete_run_tag(ref, key, store=store)


def set_deleted(store: Store, ref: str, deleted: bool) -> str:
    return manage.delete_run(ref, store=store) if deleted else manage.restore_run(ref, store=store)
