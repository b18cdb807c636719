"""The code diff of two runs compares their own bodies (the cells from each run's start), with
the whole executed history one argument away: one path for the CLI, the widget and the sidebar."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from nbtrack.query.compare import code_diff, compare_runs, comparison_lines
from nbtrack.store import CellRecord, Store

PREAMBLE = ["import numpy as np", "X = np.ones((20, 3)); y = X[:, 0] > 0"]


def track(alpha: float) -> str:
    return (
        f"%%track --name sgd-alpha-{alpha}\n"
        f"clf = SGDClassifier(alpha={alpha}, max_iter=50)\n"
        "clf.fit(X, y)\n"
        "log_metric('acc', clf.score(X, y))"
    )


def session_with_runs(store: Store, sources: list[str], runs: dict[str, int]) -> dict[str, str]:
    """One kernel session that ran ``sources`` in order; ``runs`` maps a run name to the seq of
    the ``%%track`` cell that made it (a one-cell run, as ``%%track`` records)."""
    start = time.time()
    session = uuid.uuid4().hex
    store.add_session({"id": session, "kind": "kernel", "started": start, "host": "t", "pid": 1})
    for seq, source in enumerate(sources, 1):
        store.record_cell(
            CellRecord(
                session_id=session,
                seq=seq,
                source=source,
                start_time=start + seq,
                end_time=start + seq + 0.5,
                status="ok",
                execution_count=seq,
                cell_id=f"cell-{seq}",
                state_diff={"clf": f"h{seq}"},
            )
        )
    ids = {}
    for name, seq in runs.items():
        ids[name] = uuid.uuid4().hex
        row = {
            "id": ids[name],
            "name": name,
            "status": "finished",
            "start_time": start + seq,
            "end_time": start + seq + 0.5,
            "session_id": session,
            "start_seq": seq,
            "end_seq": seq,
        }
        store.create_run(row, "sgd", {"alpha": name.rsplit("-", 1)[-1]}, {})
    return ids


def kinds(cells: list[dict[str, Any]]) -> list[str]:
    return [c["kind"] for c in cells]


def test_two_runs_of_one_session_diff_their_track_cells_as_one_change(tmp_path: Path) -> None:
    # Given two %%track runs made one after the other in one kernel, differing in alpha
    store = Store(str(tmp_path / "store"))
    ids = session_with_runs(
        store,
        [*PREAMBLE, track(3.0), track(0.01)],
        {"sgd-alpha-3.0": 3, "sgd-alpha-0.01": 4},
    )
    # When they are compared
    data = compare_runs([ids["sgd-alpha-3.0"], ids["sgd-alpha-0.01"]], store=store, history=True)
    (diff,) = data["code"]
    # Then the diff is of the runs' own cells: one changed cell, the alpha line
    assert kinds(diff["cells"]) == ["changed"]
    lines = diff["cells"][0]["lines"]
    assert {"op": "-", "text": "clf = SGDClassifier(alpha=3.0, max_iter=50)"} in lines
    assert {"op": "+", "text": "clf = SGDClassifier(alpha=0.01, max_iter=50)"} in lines
    assert "code" in comparison_lines(data)[-len(lines) - 2] and "1 changed" in "\n".join(
        comparison_lines(data)
    )
    # And the whole history is there too: the shared preamble, the first run's cell, then its own
    assert kinds(diff["history"]).count("same") == 3
    assert "changed" not in kinds(diff["history"]) and "added" in kinds(diff["history"])


def test_code_diff_is_the_one_path_for_bodies_and_whole_histories(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "store"))
    ids = session_with_runs(
        store, [*PREAMBLE, track(1e-4), "print('between')", track(0.01)], {"a": 3, "b": 5}
    )
    a, b = store.run_summaries([ids["a"], ids["b"]])
    assert kinds(code_diff(store, a, b)) == ["changed"]
    whole = code_diff(store, a, b, history=True)
    assert kinds(whole) == ["same", "same", "same", "added", "added"]
    assert [c["b"]["index"] for c in whole if c["kind"] == "added"] == [3, 4]


def test_runs_without_cells_of_their_own_diff_to_nothing(tmp_path: Path) -> None:
    # Given runs from a script: no session, so no recorded cells
    store = Store(str(tmp_path / "store"))
    rows = []
    for name in ("x", "y"):
        run_id = uuid.uuid4().hex
        store.create_run(
            {"id": run_id, "name": name, "status": "finished", "start_time": time.time()},
            "s",
            {},
            {},
        )
        rows.append(run_id)
    a, b = store.run_summaries(rows)
    assert code_diff(store, a, b) == [] and code_diff(store, a, b, history=True) == []
    data = compare_runs(rows, store=store)
    assert "no recorded cells" in "\n".join(comparison_lines(data))
