"""Edits of recorded runs, shared by the CLI, the server and the Python API: rename, notes,
tags, move to another experiment, and soft delete / restore (one run or many at once).

Deleting is soft (``runs.deleted_at``): a deleted run leaves listings and searches until
restored; ``nbtrack gc`` (:mod:`nbtrack.lifecycle.gc`) removes deleted runs for good. Every function
takes a run id or a unique prefix of one and returns the full id(s).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nbtrack.errors import ValidationError
from nbtrack.store import edits as stored
from nbtrack.store import open_store
from nbtrack.validation import check_label, check_tag

if TYPE_CHECKING:
    from nbtrack.store import Store

MAX_NOTES = 100_000


def rename_run(run_id: str, name: str, *, store: Store | str | None = None) -> str:
    """Give a run a new name."""
    st = open_store(store, create=False)
    rid = st.resolve_run_id(run_id)
    st.update_run(rid, name=check_label("run name", name))
    return rid


def set_run_notes(run_id: str, notes: str | None, *, store: Store | str | None = None) -> str:
    """Replace a run's notes (markdown); empty or ``None`` clears them."""
    if notes is not None and not isinstance(notes, str):
        raise ValidationError(f"notes must be a string, got {type(notes).__name__}")
    if notes and len(notes) > MAX_NOTES:
        raise ValidationError(f"notes must be at most {MAX_NOTES} characters, got {len(notes)}")
    st = open_store(store, create=False)
    rid = st.resolve_run_id(run_id)
    st.update_run(rid, notes=notes or None)
    return rid


def set_run_tags(run_id: str, tags: Mapping[str, Any], *, store: Store | str | None = None) -> str:
    """Add or replace tags ``{key: value}`` of a run (values are stored as text)."""
    if not isinstance(tags, Mapping) or not tags:
        raise ValidationError('tags must be a non-empty mapping {"key": "value"}')
    checked = dict(check_tag(k, v) for k, v in tags.items())
    st = open_store(store, create=False)
    rid = st.resolve_run_id(run_id)
    stored.set_tags(st, rid, checked)
    return rid


def set_run_tag(run_id: str, key: str, value: Any, *, store: Store | str | None = None) -> str:
    """Set one tag of a run (``MlflowClient.set_tag``)."""
    return set_run_tags(run_id, {key: value}, store=store)


def delete_run_tag(run_id: str, key: str, *, store: Store | str | None = None) -> str:
    """Remove one tag of a run (``MlflowClient.delete_tag``); a tag it lacks is an error."""
    st = open_store(store, create=False)
    rid = st.resolve_run_id(run_id)
    stored.delete_tag(st, rid, key)
    return rid


def move_run(run_id: str, experiment: str, *, store: Store | str | None = None) -> str:
    """Move a run to another existing experiment."""
    st = open_store(store, create=False)
    rid = st.resolve_run_id(run_id)
    stored.move_run(st, rid, experiment)
    return rid


def delete_run(run_id: str, *, store: Store | str | None = None) -> str:
    """Soft-delete a run and the runs nested under it (a replay's re-run cells, a sweep's
    runs): hidden from listings and searches until :func:`restore_run`."""
    return _set_deleted(open_store(store, create=False), [run_id], True)[0]


def restore_run(run_id: str, *, store: Store | str | None = None) -> str:
    """Undo :func:`delete_run`: the run and the nested runs deleted with it come back."""
    return _set_deleted(open_store(store, create=False), [run_id], False)[0]


def runs_deleted_with(run_id: str, *, store: Store | str | None = None) -> list[str]:
    """The run's id, then the ids of the live runs nested under it: what :func:`delete_run`
    would delete (a confirmation can say how many)."""
    st = open_store(store, create=False)
    rid = st.resolve_run_id(run_id)
    return [rid, *stored.nested_under(st, [rid], deleted=False)]


def delete_runs(
    run_ids: Iterable[str] = (),
    *,
    experiment: str | None = None,
    filter_string: str | None = None,
    before: str | float | None = None,
    max_runs: int | None = None,
    dry_run: bool = False,
    store: Store | str | None = None,
) -> list[str]:
    """Soft-delete many runs: those named, or the live runs selected by ``experiment``,
    ``filter_string`` and ``before`` (started at or before this time: ISO date/time or UNIX
    seconds). As MLflow's bulk ``delete_runs`` (``max_timestamp_millis``, ``max_runs``), at
    most ``max_runs`` runs are selected, the oldest first; the runs nested under them go
    with them. Returns the ids (deleted, or that would be with ``dry_run``), nested ones last."""
    st = open_store(store, create=False)
    ids = _selection(st, run_ids, experiment, filter_string, before, max_runs, deleted=False)
    ids = _with_nested(st, ids, deleted=False)
    return ids if dry_run else _set_deleted(st, ids, True)


def restore_runs(
    run_ids: Iterable[str] = (),
    *,
    experiment: str | None = None,
    filter_string: str | None = None,
    deleted_since: str | float | None = None,
    max_runs: int | None = None,
    dry_run: bool = False,
    store: Store | str | None = None,
) -> list[str]:
    """Restore many runs: those named, or the deleted runs selected by ``experiment``,
    ``filter_string`` and ``deleted_since`` (deleted at or after this time). As MLflow's bulk
    ``restore_runs``, at most ``max_runs``, the most recently deleted first; the nested runs
    deleted with them come back too."""
    st = open_store(store, create=False)
    ids = _selection(st, run_ids, experiment, filter_string, deleted_since, max_runs, deleted=True)
    ids = _with_nested(st, ids, deleted=True)
    return ids if dry_run else _set_deleted(st, ids, False)


def _selection(
    st: Store,
    run_ids: Iterable[str],
    experiment: str | None,
    filter_string: str | None,
    when: str | float | None,
    max_runs: int | None,
    *,
    deleted: bool,
) -> list[str]:
    from nbtrack.query import compile_filter
    from nbtrack.timespec import parse_time

    refs = [run_ids] if isinstance(run_ids, str) else list(run_ids)
    if max_runs is not None and (
        isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < 1
    ):
        raise ValidationError(f"max_runs must be a positive integer, got {max_runs!r}")
    selectors = experiment is not None or bool(filter_string) or when is not None
    if refs:
        if selectors or max_runs is not None:
            raise ValidationError(
                "name runs or select them (experiment, filter, time, max runs), not both"
            )
        return list(dict.fromkeys(st.resolve_run_id(ref) for ref in refs))
    if not selectors:
        raise ValidationError(
            "name the runs, or select them with an experiment, a filter or a time"
        )
    where = compile_filter(filter_string or None)
    bound = parse_time(when) if when is not None else None
    st.detect_killed()  # a run of a dead process is killed, not running, when it is selected
    if deleted:
        return stored.select_runs(
            st, where, deleted=True, experiment=experiment, since=bound, limit=max_runs
        )
    return stored.select_runs(
        st, where, deleted=False, experiment=experiment, until=bound, limit=max_runs
    )


def _with_nested(st: Store, ids: list[str], *, deleted: bool) -> list[str]:
    """``ids``, then the runs nested under them that a delete (or restore) takes along."""
    return list(dict.fromkeys([*ids, *stored.nested_under(st, ids, deleted=deleted)]))


def _set_deleted(st: Store, refs: list[str], deleted: bool) -> list[str]:
    """Deletes (restores) ``refs`` and the runs nested under them, in one write; returns the
    ids of ``refs``."""
    ids = list(dict.fromkeys(st.resolve_run_id(ref) for ref in refs))
    stored.set_deleted(st, _with_nested(st, ids, deleted=not deleted), deleted)
    return ids
