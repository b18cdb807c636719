"""Which store a widget reads, opened lazily and never created by a view."""

from __future__ import annotations

import os
from typing import Any

from nbtrack.errors import StoreError


class StoreSource:
    """A store given as ``None`` (the default store), a path or URL, or an open ``Store``.

    ``get()`` returns the open store, or ``None`` with ``problem`` saying why (a view shows
    that message instead of creating an empty store where the user did not expect one).
    """

    def __init__(self, store: Any = None):
        from nbtrack.store import Store, mask_url, resolve_url

        self._store: Store | None = store if isinstance(store, Store) else None
        self._url = self._store.url if self._store else resolve_url(store)
        self.label = mask_url(self._url)
        self.problem = ""

    def get(self) -> Any:
        from nbtrack.store import open_store

        if self._store is not None and not self._store.closed:
            return self._store
        if "://" not in self._url and not os.path.isdir(self._url):
            self.problem = (
                f"No nbtrack store at {self._url} yet. Runs appear here once you record one "
                "(%load_ext nbtrack, then %%track), or point NBTRACK_STORE at an existing store."
            )
            return None
        try:
            self._store = open_store(self._url, create=False)
        except StoreError as exc:
            self.problem = str(exc)
            return None
        self.problem = ""
        return self._store


def resolve_run_ids(store: Any, runs: Any) -> list[str]:
    """Run ids from what a user passes: an id or prefix, a list of them, a runs table
    (its selection, else its whole result) or a DataFrame with a ``run_id`` or ``id`` column."""
    from nbtrack.errors import ValidationError

    if runs is None:
        return []
    if isinstance(runs, str):
        runs = [runs]
    elif hasattr(runs, "selected") and hasattr(runs, "run_ids"):
        runs = list(runs.selected) or runs.run_ids
    elif hasattr(runs, "columns") and hasattr(runs, "__getitem__"):
        col = "run_id" if "run_id" in runs.columns else "id" if "id" in runs.columns else None
        if col is None:
            raise ValidationError("a DataFrame of runs needs a 'run_id' or 'id' column")
        runs = list(runs[col])
    out: list[str] = []
    for ref in runs:
        if not isinstance(ref, str):
            raise ValidationError(f"run ids are strings, got {ref!r} ({type(ref).__name__})")
        rid = store.resolve_run_id(ref)
        if rid not in out:
            out.append(rid)
    return out
