"""Experiments by name: create, rename, list with run counts, soft delete and restore.

A deleted experiment keeps its runs, but they leave listings and searches (unless deleted
runs are asked for) until it is restored; ``nbtrack gc`` purges it with its runs.
"""

from __future__ import annotations

import difflib
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update

from nbtrack.errors import NotFoundError, ValidationError
from nbtrack.store import open_store
from nbtrack.store import schema as s
from nbtrack.validation import check_label

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from nbtrack.store import Store


def experiment_row(conn: Connection, name: str, deleted: bool | None = False) -> dict[str, Any]:
    """The experiment called ``name``; ``deleted`` False: must be live, True: must be deleted,
    None: either. Unknown names raise NotFoundError with the nearest known name."""
    e = s.experiments
    row = conn.execute(select(e).where(e.c.name == name)).mappings().first()
    if row is None:
        known = list(conn.execute(select(e.c.name)).scalars())
        guess = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {guess[0]!r}?" if guess else f" (experiments: {', '.join(sorted(known)[:10]) or 'none'})"
        raise NotFoundError(f"no experiment named {name!r}{hint}")
    if deleted is False and row["deleted_at"] is not None:
        raise NotFoundError(f"experiment {name!r} is deleted; restore it with: nbtrack experiment restore {name!r}")
    if deleted is True and row["deleted_at"] is None:
        raise ValidationError(f"experiment {name!r} is not deleted")
    return dict(row)


def create_experiment(name: str, *, store: Store | str | None = None) -> str:
    """Create an empty experiment; its name must be new."""
    name = check_label("experiment name", name)
    st = open_store(store, create=False)
    e = s.experiments

    def fn(conn: Connection) -> None:
        row = conn.execute(select(e.c.deleted_at).where(e.c.name == name)).first()
        if row is not None:
            state = " (deleted; restore it instead)" if row[0] is not None else ""
            raise ValidationError(f"experiment {name!r} already exists{state}")
        conn.execute(insert(e).values(name=name, created=time.time()))

    st.write(fn)
    return name


def rename_experiment(name: str, new_name: str, *, store: Store | str | None = None) -> str:
    """Rename an experiment (its runs go with it); the new name must be free."""
    new_name = check_label("experiment name", new_name)
    st = open_store(store, create=False)
    e = s.experiments

    def fn(conn: Connection) -> None:
        row = experiment_row(conn, name, deleted=None)
        if new_name != name and conn.execute(select(e.c.id).where(e.c.name == new_name)).first() is not None:
            raise ValidationError(f"cannot rename {name!r} to {new_name!r}: that experiment exists")
        conn.execute(update(e).where(e.c.id == row["id"]).values(name=new_name))

    st.write(fn)
    st.forget_experiments()  # this process looks names up afresh
    return new_name


def delete_experiment(name: str, *, store: Store | str | None = None) -> str:
    """Soft-delete an experiment: it and its runs leave listings and searches."""
    return _set_deleted(name, time.time(), store)


def restore_experiment(name: str, *, store: Store | str | None = None) -> str:
    """Undo :func:`delete_experiment`."""
    return _set_deleted(name, None, store)


def _set_deleted(name: str, when: float | None, store: Store | str | None) -> str:
    st = open_store(store, create=False)
    e = s.experiments

    def fn(conn: Connection) -> None:
        row = experiment_row(conn, name, **({"deleted": True} if when is None else {}))
        conn.execute(update(e).where(e.c.id == row["id"]).values(deleted_at=when))

    st.write(fn)
    st.forget_experiments()  # this process looks names up afresh
    return name

def list_experiments(include_deleted: bool = False, *, store: Store | str | None = None) -> list[dict[str, Any]]:
    """Experiments by name: ``name, runs`` (live runs), ``deleted_runs``, ``created``,
    ``last_start`` (of a live run) and ``deleted_at`` (UNIX seconds or None)."""
    st = open_store(store, create=False)
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
    rows = st.read(lambda conn: conn.execute(q).all())
    keys = ("name", "runs", "deleted_runs", "created", "last_start", "deleted_at")
    return [dict(zip(keys, row, strict=True)) for row in rows]

