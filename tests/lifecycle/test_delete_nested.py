"""Deleting a run takes the runs nested under it along (a replay's re-run cells, a sweep's
runs), and restoring it brings back those deleted with it: one rule for the CLI, the server
and the Python API, on a real SQLite store."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from nbtrack.lifecycle import edits
from nbtrack.query.search import search_run_ids
from nbtrack.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(str(tmp_path / "store"))


def make_run(store: Store, name: str, start: float, parent: str | None = None) -> str:
    run_id = uuid.uuid4().hex
    row = {
        "id": run_id,
        "name": name,
        "status": "finished",
        "start_time": start,
        "end_time": start + 1,
        "parent_run_id": parent,
    }
    store.create_run(row, "exp", {}, {})
    return run_id


def live(store: Store) -> set[str]:
    return set(search_run_ids(store, max_results=1000)[0])


def test_deleting_a_replay_deletes_its_children_and_grandchildren_and_restore_undoes_it(
    store: Store,
) -> None:
    # Given a replay with two re-run cells, one of which has a nested run, and an unrelated run
    replay = make_run(store, "replay", 1.0)
    kids = [make_run(store, f"cell-{i}", 2.0 + i, parent=replay) for i in range(2)]
    grandchild = make_run(store, "fold", 5.0, parent=kids[0])
    other = make_run(store, "other", 6.0)
    # When the user asks what a delete of the replay takes along
    # Then it names the replay first and every run nested under it
    assert edits.runs_deleted_with(replay[:8], store=store) == [replay, *kids, grandchild]
    # When the replay is deleted (by id prefix, as the CLI and the server do)
    assert edits.delete_run(replay[:8], store=store) == replay
    # Then its children and grandchild are gone from listings too; the other run stays
    assert live(store) == {other}
    # When it is restored, everything deleted with it comes back
    assert edits.restore_run(replay, store=store) == replay
    assert live(store) == {replay, *kids, grandchild, other}


def test_restoring_a_parent_leaves_a_child_deleted_on_its_own_before(store: Store) -> None:
    # Given a sweep whose first run the user deleted on its own, then the whole sweep
    sweep = make_run(store, "sweep", 1.0)
    first, second = (make_run(store, f"lr-{i}", 2.0 + i, parent=sweep) for i in range(2))
    edits.delete_run(first, store=store)
    time.sleep(0.01)
    assert edits.delete_runs([sweep], store=store) == [sweep, second]
    assert live(store) == set()
    # When the sweep is restored (the bulk call the Runs view uses)
    assert edits.restore_runs([sweep], store=store) == [sweep, second]
    # Then the run deleted on its own before stays deleted
    assert live(store) == {sweep, second}


def test_a_cycle_of_hand_edited_parent_ids_does_not_loop(store: Store) -> None:
    # Given two runs that name each other as parent (edited by hand)
    a = make_run(store, "a", 1.0)
    b = make_run(store, "b", 2.0, parent=a)
    store.update_run(a, parent_run_id=b)
    # When one is deleted, both go, once each
    assert edits.runs_deleted_with(a, store=store) == [a, b]
    edits.delete_run(a, store=store)
    assert live(store) == set()
