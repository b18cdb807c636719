"""Experiments by name: the id a run is logged into (made if new), and create, rename, soft
delete / restore and list with run counts."""

from __future__ import annotations

import difflib
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from nbtrack.errors import NotFoundError, ValidationError
from nbtrack.store import schema as s
from nbtrack.store.dialect import dialect_insert

if TYPE_CHECKING:
    from nbtrack.store.sql import Store

REMEMBER_SECONDS = 1.0  # another process may rename or delete an experiment meanwhile


def experiment_id(store: Store, conn: Connection, name: str) -> int:
    """The id of experiment ``name``: created if new, restored if deleted (logging a run
    into it means it is wanted). Remembered for a second only: another process may rename
    or delete it, and a burst of runs should not look it up each time."""
    remembered = store.remembered.experiments
    cached = remembered.get(name)
    if cached is not None and time.monotonic() - cached[1] < REMEMBER_SECONDS:
        return cached[0]
    e = s.experiments
    row = conn.execute(select(e.c.id, e.c.deleted_at).where(e.c.name == name)).first()
    if row is None:
        new = dialect_insert(conn, e).values(name=name, created=time.time())
        conn.execute(new.on_conflict_do_nothing(index_elements=["name"]))
        row = conn.execute(select(e.c.id, e.c.deleted_at).where(e.c.name == name)).first()
    assert row is not None
    if row[1] is not None:
        conn.execute(update(e).where(e.c.id == row[0]).values(deleted_at=None))
    remembered[name] = (int(row[0]), time.monotonic())
    return int(row[0])


def experiment_row(conn: Connection, name: str, deleted: bool | None = False) -> dict[str, Any]:
    """The experiment called ``name``; ``deleted`` False: must be live, True: must be deleted,
    None: either. Unknown names raise NotFoundError with the nearest known name."""
    e = s.experiments
    row = conn.execute(select(e).where(e.c.name == name)).mappings().first()
    if row is None:
        known = list(conn.execute(select(e.c.name)).scalars())
        guess = difflib.get_close_matches(name, known, n=1)
        hint = (
            f"; did you mean {guess[0]!r}?"
            if guess
            else f" (experiments: {', '.join(sorted(known)[:10]) or 'none'})"
        )
        raise NotFoundError(f"no experiment named {name!r}{hint}")
    if deleted is False and row["deleted_at"] is not None:
        raise NotFoundError(
            f"experiment {name!r} is deleted; restore it with: nbtrack experiment restore {name!r}"
        )
    if deleted is True and row["deleted_at"] is None:
        raise ValidationError(f"experiment {name!r} is not deleted")
    return dict(row)


def create_experiment(store: Store, name: str) -> None:
    """An empty experiment; its name must be new."""
    e = s.experiments

    def fn(conn: Connection) -> None:
        row = conn.execute(select(e.c.deleted_at).where(e.c.name == name)).first()
        if row is not None:
            state = " (deleted; restore it instead)" if row[0] is not None else ""
            raise ValidationError(f"experiment {name!r} already exists{state}")
        conn.execute(insert(e).values(name=name, created=time.time()))

    store.write(fn)


def rename_experiment(store: Store, name: str, new_name: str) -> None:
    """Rename an experiment (its runs go with it); the new name must be free."""
    e = s.experiments

    def fn(conn: Connection) -> None:
        row = experiment_row(conn, name, deleted=None)
        if (
            new_name != name
            and conn.execute(select(e.c.id).where(e.c.name == new_name)).first() is not None
        ):
            raise ValidationError(f"cannot rename {name!r} to {new_name!r}: that experiment exists")
        conn.execute(update(e).where(e.c.id == row["id"]).values(name=new_name))

    store.write(fn)
    store.remembered.experiments.clear()  # this process looks names up afresh


def set_experiment_deleted(store: Store, name: str, when: float | None) -> None:
    """Soft-delete a live experiment at ``when``, or restore a deleted one (``when`` None)."""
    e = s.experiments

    def fn(conn: Connection) -> None:
        row = experiment_row(conn, name, deleted=True if when is None else False)
        conn.execute(update(e).where(e.c.id == row["id"]).values(deleted_at=when))

    store.write(fn)
    store.remembered.experiments.clear()


def list_experiments(store: Store, include_deleted: bool = False) -> list[dict[str, Any]]:
    """Experiments by name: ``name, runs`` (live runs), ``deleted_runs``, ``created``,
    ``last_start`` (of a live run) and ``deleted_at``."""
    e, r = s.experiments, s.runs
    live = r.c.deleted_at.is_(None)
    q = (
        select(
            e.c.name,
            func.count(r.c.id).filter(live),
            func.count(r.c.id).filter(~live),
            e.c.created,
            func.max(r.c.start_time).filter(live),
            e.c.deleted_at,
        )
        .select_from(e.outerjoin(r, r.c.experiment_id == e.c.id))
        .group_by(e.c.id, e.c.name, e.c.created, e.c.deleted_at)
        .order_by(e.c.name)
    )
    if not include_deleted:
        q = q.where(e.c.deleted_at.is_(None))
    rows = store.read(lambda conn: conn.execute(q).all())
    keys = ("name", "runs", "deleted_runs", "created", "last_start", "deleted_at")
    return [dict(zip(keys, row, strict=True)) for row in rows]
