"""The changes a user makes from the sidebar: rename, notes, tags, delete and restore.

Deleting is soft (``deleted_at``) so a run can be restored; nothing here removes data.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import delete, insert

from ..errors import ValidationError
from ..store import Store
from ..store import schema as s
from ..validation import MAX_TAG_VALUE, check_label, check_name

MAX_NOTES = 100_000


def rename(store: Store, ref: str, name: Any) -> str:
    run_id = store.resolve_run_id(ref)
    store.update_run(run_id, name=check_label("run name", name))
    return run_id


def set_notes(store: Store, ref: str, notes: Any) -> str:
    if not isinstance(notes, str):
        raise ValidationError(f"notes must be a string, got {type(notes).__name__}")
    if len(notes) > MAX_NOTES:
        raise ValidationError(f"notes must be at most {MAX_NOTES} characters, got {len(notes)}")
    run_id = store.resolve_run_id(ref)
    store.update_run(run_id, notes=notes or None)
    return run_id


def set_tags(store: Store, ref: str, tags: Any) -> str:
    """Add or replace tags ``{key: value}``."""
    if not isinstance(tags, dict) or not tags:
        raise ValidationError('tags must be a non-empty object {"key": "value"}')
    rows = []
    for key, value in tags.items():
        check_name("tag", key)
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            raise ValidationError(f"tag {key!r} needs a string value of at most {MAX_TAG_VALUE} characters")
        rows.append({"key": key, "value": value})
    run_id = store.resolve_run_id(ref)
    t = s.tags

    def fn(conn: Any) -> None:
        conn.execute(delete(t).where(t.c.run_id == run_id, t.c.key.in_([r["key"] for r in rows])))
        conn.execute(insert(t), [{"run_id": run_id, **r} for r in rows])

    store.write(fn)
    return run_id


def delete_tag(store: Store, ref: str, key: str) -> str:
    run_id = store.resolve_run_id(ref)
    t = s.tags
    store.write(lambda conn: conn.execute(delete(t).where(t.c.run_id == run_id, t.c.key == key)))
    return run_id


def set_deleted(store: Store, ref: str, deleted: bool) -> str:
    run_id = store.resolve_run_id(ref)
    store.update_run(run_id, deleted_at=time.time() if deleted else None)
    return run_id
