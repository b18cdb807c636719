"""Experiments by name: create, rename, list with run counts, soft delete and restore.

A deleted experiment keeps its runs, but they leave listings and searches (unless deleted
runs are asked for) until it is restored; ``nbtrack gc`` purges it with its runs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from nbtrack.store import experiments as stored
from nbtrack.store import open_store
from nbtrack.validation import check_label

if TYPE_CHECKING:
    from nbtrack.store import Store


def create_experiment(name: str, *, store: Store | str | None = None) -> str:
    """Create an empty experiment; its name must be new."""
    name = check_label("experiment name", name)
    stored.create_experiment(open_store(store, create=False), name)
    return name


def rename_experiment(name: str, new_name: str, *, store: Store | str | None = None) -> str:
    """Rename an experiment (its runs go with it); the new name must be free."""
    new_name = check_label("experiment name", new_name)
    stored.rename_experiment(open_store(store, create=False), name, new_name)
    return new_name


def delete_experiment(name: str, *, store: Store | str | None = None) -> str:
    """Soft-delete an experiment: it and its runs leave listings and searches."""
    stored.set_experiment_deleted(open_store(store, create=False), name, time.time())
    return name


def restore_experiment(name: str, *, store: Store | str | None = None) -> str:
    """Undo :func:`delete_experiment`."""
    stored.set_experiment_deleted(open_store(store, create=False), name, None)
    return name


def list_experiments(
    include_deleted: bool = False, *, store: Store | str | None = None
) -> list[dict[str, Any]]:
    """Experiments by name: ``name, runs`` (live runs), ``deleted_runs``, ``created``,
    ``last_start`` (of a live run) and ``deleted_at`` (UNIX seconds or None)."""
    return stored.list_experiments(open_store(store, create=False), include_deleted)
