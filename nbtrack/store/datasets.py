"""The datasets a run declared (``log_input``): written one row per (name, digest), a dataset
logged again replacing its context; read per run in the order they were first logged."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from nbtrack.store import schema as s
from nbtrack.store.dialect import upsert

if TYPE_CHECKING:
    from nbtrack.store.sql import Store

FIELDS = ("name", "digest", "context", "kind", "source", "schema", "rows")


def dataset_rows(run_id: str, datasets: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of ``datasets`` (dicts of :data:`FIELDS`; ``schema`` any JSON value) for ``run_id``."""
    now = time.time()
    rows: dict[tuple[str, str], dict[str, Any]] = {}  # one per (name, digest): the last given
    for d in datasets:
        schema = d.get("schema")
        first = rows.get((d["name"], d["digest"]))
        rows[(d["name"], d["digest"])] = {
            "run_id": run_id,
            "name": d["name"],
            "digest": d["digest"],
            "context": d.get("context"),
            "kind": d.get("kind") or "other",
            "source": d.get("source"),
            "schema": None if schema is None else json.dumps(schema, sort_keys=False),
            "rows": d.get("rows"),
            "created": first["created"] if first else d.get("created") or now,
        }
    return list(rows.values())


def write_datasets(conn: Connection, run_id: str, datasets: Sequence[Mapping[str, Any]]) -> None:
    """Upsert the datasets of a run in the caller's transaction: a dataset logged again (same
    name and digest) keeps its first ``created`` and takes the new context."""
    rows = dataset_rows(run_id, datasets)
    if not rows:
        return
    d = s.datasets
    have = {
        (r.name, r.digest): r.created
        for r in conn.execute(select(d.c.name, d.c.digest, d.c.created).where(d.c.run_id == run_id))
    }
    for row in rows:
        row["created"] = have.get((row["name"], row["digest"]), row["created"])
    upsert(conn, d, rows, ["run_id", "name", "digest"])


def add_datasets(
    store: Store, run_id: str, datasets: Sequence[Mapping[str, Any]], *, wait: float | None = None
) -> None:
    store.write(lambda conn: write_datasets(conn, run_id, datasets), wait=wait)


def datasets_of(store: Store, run_id: str) -> list[dict[str, Any]]:
    """The run's datasets, first logged first: dicts of :data:`FIELDS`, ``schema`` parsed."""
    d = s.datasets
    q = select(d).where(d.c.run_id == run_id).order_by(d.c.created, d.c.name, d.c.digest)
    rows = store.read(lambda conn: [dict(r) for r in conn.execute(q).mappings()])
    out = []
    for r in rows:
        try:
            schema = json.loads(r["schema"]) if r["schema"] is not None else None
        except ValueError:
            schema = r["schema"]
        out.append({**{k: r[k] for k in FIELDS}, "schema": schema})
    return out
