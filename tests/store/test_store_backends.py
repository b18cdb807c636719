"""The store behaves the same on SQLite and on a real PostgreSQL server: one suite, both backends."""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from conftest import add_ended_process_session, run_cli
from pg import PASSWORD
from search_fixtures import fill, names, run_id
from sqlalchemy import func, select, update

from nbtrack.errors import NbtrackWarning, NotFoundError, StoreError, ValidationError
from nbtrack.query.search import search_run_ids, search_runs
from nbtrack.recording.recorder import CellQueue
from nbtrack.store import CellRecord, Store
from nbtrack.store import schema as s
from nbtrack.store.failures import is_duplicate, is_store_failure, is_transient
from nbtrack.store.migrations import schema_version

BACKENDS = ["sqlite", "postgresql"]


def _open(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return str(tmp_path / "store")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=BACKENDS)
def store_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """A fresh, empty store of each backend (PostgreSQL blobs in a temporary directory)."""
    monkeypatch.setenv("NBTRACK_BLOBS", str(tmp_path / "blobs"))
    return _open(request.param, request, tmp_path)


@pytest.fixture
def store(store_url: str) -> Any:
    st = Store(store_url)
    yield st
    st.close()


def _run(store: Store, rid: str, experiment: str = "exp", **extra: Any) -> None:
    row = {
        "id": rid,
        "name": extra.pop("name", f"run-{rid[:4]}"),
        "status": "running",
        "start_time": extra.pop("start_time", time.time()),
        **extra,
    }
    store.create_run(row, experiment, extra.pop("params", {}), {})


def _points(
    store: Store, rid: str, points: list[tuple[str, float, int, float, int | None]]
) -> None:
    store.write(lambda conn: store.write_batch(conn, rid, {}, {}, points))


# -- runs, params, tags, metrics --------------------------------------------------------------
def test_runs_params_and_tags_round_trip(store: Store) -> None:
    rid = "ab" * 16
    store.create_run(
        {"id": rid, "name": "first", "status": "running", "start_time": 100.0, "reproduced": True},
        "churn",
        {"lr": "0.01", "model": "rf"},
        {"owner": "ana"},
    )
    store.write(lambda conn: store.write_batch(conn, rid, {"lr": "0.02"}, {"stage": "dev"}, []))
    store.update_run(rid, status="finished", end_time=130.5)
    (row,) = store.run_summaries([rid])
    assert (row["name"], row["experiment"], row["status"], row["end_time"]) == (
        "first",
        "churn",
        "finished",
        130.5,
    )
    assert row["params"] == {"lr": "0.02", "model": "rf"}
    assert row["tags"] == {"owner": "ana", "stage": "dev"}
    assert row["reproduced"] is True
    assert store.list_run_ids("churn") == [rid]
    assert store.list_run_ids("nope") == []


def test_metric_summary_keeps_latest_min_max_and_count_with_nan(store: Store) -> None:
    rid = "cd" * 16
    _run(store, rid)
    _points(
        store,
        rid,
        [
            ("loss", 0.5, 0, 10.0, None),
            ("loss", float("nan"), 1, 11.0, None),
            ("acc", 0.7, 0, 10.0, 3),
        ],
    )
    _points(
        store,
        rid,
        [
            ("loss", 0.2, 2, 12.0, None),
            ("loss", 0.9, 1, 13.0, None),
            ("big", 1.0, 2**40, 1.0, None),
        ],
    )
    _points(
        store, rid, [("acc", float("inf"), 1, 14.0, None), ("acc", float("nan"), 2, 15.0, None)]
    )
    summary = store.metric_summary(rid)
    assert summary["loss"]["latest"] == 0.2 and summary["loss"]["step"] == 2
    assert (summary["loss"]["min"], summary["loss"]["max"], summary["loss"]["count"]) == (
        0.2,
        0.9,
        4,
    )
    assert (
        math.isnan(summary["acc"]["latest"])
        and summary["acc"]["max"] == math.inf
        and summary["acc"]["count"] == 3
    )
    assert summary["big"]["step"] == 2**40  # 64-bit steps
    history = store.metric_history(rid, "loss")
    assert [p["step"] for p in history] == [0, 1, 1, 2]
    assert math.isnan(history[1]["value"]) and history[2]["value"] == 0.9
    assert math.isnan(store.run_summaries([rid])[0]["metrics"]["acc"])
    assert store.metric_history(rid, "acc")[0]["cell_seq"] == 3


def test_large_batches_keep_every_value_nan_and_infinity_included(store: Store) -> None:
    rid = "cf" * 16
    _run(store, rid)
    values = [float(i) for i in range(5000)] + [float("nan"), float("inf"), -float("inf"), 1e-300]
    _points(store, rid, [("v", x, i, 100.0 + i, i % 7 or None) for i, x in enumerate(values)])
    history = store.metric_history(rid, "v")
    assert [p["step"] for p in history] == list(range(len(values)))
    got = [p["value"] for p in history]
    assert got[:5000] == values[:5000] and math.isnan(got[5000]) and got[5001:] == values[5001:]
    assert [p["cell_seq"] for p in history[:8]] == [None, 1, 2, 3, 4, 5, 6, None]
    summ = store.metric_summary(rid)["v"]
    assert (summ["count"], summ["min"], summ["max"], summ["latest"]) == (
        5004,
        -math.inf,
        math.inf,
        1e-300,
    )


def test_only_nan_points_leave_min_and_max_empty(store: Store) -> None:
    rid = "ce" * 16
    _run(store, rid)
    _points(store, rid, [("x", float("nan"), 0, 1.0, None)])
    _points(store, rid, [("x", float("nan"), 1, 2.0, None)])
    summ = store.metric_summary(rid)["x"]
    assert math.isnan(summ["min"]) and math.isnan(summ["max"]) and summ["count"] == 2


# -- cells, state, sources, artifacts ---------------------------------------------------------
def _cell(
    store: Store,
    sid: str,
    seq: int,
    source: str,
    diff: dict[str, str | None],
    error: str | None = None,
) -> None:
    store.record_cell(
        CellRecord(
            sid,
            seq,
            source,
            float(seq),
            seq + 0.5,
            "error" if error else "ok",
            execution_count=seq,
            cell_id=f"c{seq}",
            error_type=error,
            error_message="boom" if error else None,
            created=tuple(sorted(diff)),
            notebook_path="nb.ipynb",
            state_diff=diff,
        )
    )


def test_a_cell_the_store_already_has_is_a_duplicate_that_the_backlog_drops_quietly(
    store: Store,
) -> None:
    sid = "s" * 32
    store.add_session({"id": sid, "kind": "kernel", "started": 0.0, "host": "h", "pid": 1})
    _cell(store, sid, 1, "a = 1", {"a": "h1"})
    with pytest.raises(Exception) as again:  # a retry of a write whose answer was lost
        _cell(store, sid, 1, "a = 1", {"a": "h1"})
    assert is_duplicate(again.value) and not is_store_failure(again.value)
    queue = CellQueue(store)
    queue.records.append(
        CellRecord(sid, 1, "a = 1", 1.0, 1.5, "ok", execution_count=1, state_diff={"a": "h1"})
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "could not record cell 1"
        assert queue.flush(wait=1.0)
    assert not queue.records
    assert _cells_of(store, sid) == 1


def test_a_sqlite_store_another_writer_holds_is_busy_and_written_once_it_is_free(
    tmp_path: Path,
) -> None:
    store = Store(str(tmp_path / "store"))
    sid = "s" * 32
    store.add_session({"id": sid, "kind": "kernel", "started": 0.0, "host": "h", "pid": 1})
    holder = sqlite3.connect(store.db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer's transaction
    record = CellRecord(sid, 1, "a = 1", 1.0, 1.5, "ok", state_diff={"a": "h1"})
    with pytest.raises(Exception) as busy:
        store.record_cell(record, wait=0.2)
    assert is_transient(busy.value) and is_store_failure(busy.value), busy.value
    holder.execute("ROLLBACK")
    holder.close()
    store.record_cell(record, wait=0.2)
    assert _cells_of(store, sid) == 1
    store.close()


def _cells_of(store: Store, sid: str) -> int:
    count = select(func.count()).select_from(s.cells).where(s.cells.c.session_id == sid)
    return store.read(lambda conn: conn.execute(count).scalar())


def test_cells_fold_state_diffs_and_share_sources(store: Store) -> None:
    store.add_session({"id": "s" * 32, "kind": "kernel", "started": 0.0, "host": "h", "pid": 1})
    sid = "s" * 32
    _cell(store, sid, 1, "a = 1", {"a": "h1"})
    _cell(store, sid, 2, "b = a\nb", {"b": "h2"})
    _cell(store, sid, 3, "del a", {"a": None})
    _cell(store, sid, 4, "a = 1", {"a": "h1"})
    _cell(store, sid, 5, "1/0", {}, error="ZeroDivisionError")
    rid = "ef" * 16
    _run(store, rid, session_id=sid, start_seq=3, end_seq=4)
    (run,) = store.run_summaries([rid])
    cells = store.run_cells(run)
    assert [c["source"] for c in cells] == ["a = 1", "b = a\nb", "del a", "a = 1"]
    assert [c["in_run"] for c in cells] == [False, False, True, True]
    assert cells[2]["state"] == {"b": "h2"} and cells[3]["state"] == {"a": "h1", "b": "h2"}
    assert (
        store.read(lambda conn: conn.execute(select(func.count()).select_from(s.sources)).scalar())
        == 4
    )
    store.update_run(rid, end_seq=None)
    assert store.run_cells(store.run_summaries([rid])[0])[-1]["error"] == {
        "type": "ZeroDivisionError",
        "message": "boom",
    }


def test_artifacts_point_at_written_blobs(store: Store) -> None:
    rid = "0a" * 16
    _run(store, rid)
    h = store.add_artifact(rid, "model/weights.bin", b"\x00\x01" * 1000)
    store.add_artifact(rid, "notes.txt", b"hello")
    store.add_artifact(rid, "notes.txt", b"hello again")  # replaced, not duplicated
    arts = store.artifacts_of(rid)
    assert [(a["path"], a["size"]) for a in arts] == [
        ("model/weights.bin", 2000),
        ("notes.txt", 11),
    ]
    assert store.get_blob(h) == b"\x00\x01" * 1000
    assert all(store.blobs.exists(a["blob_hash"]) for a in arts)


def test_a_write_with_a_wait_gives_up_while_another_writer_holds_the_lock(
    store: Store, store_url: str
) -> None:
    from sqlalchemy.exc import OperationalError

    rid = "1c" * 16
    _run(store, rid)
    if store.is_sqlite:
        import sqlite3

        other: Any = sqlite3.connect(store.db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        other = psycopg.connect(store_url)
        other.execute("SELECT id FROM runs WHERE id = %s FOR UPDATE", (rid,))
    try:
        with pytest.raises((OperationalError, StoreError)):
            store.update_run(rid, name="renamed", wait=0.3)
    finally:
        other.rollback() if not store.is_sqlite else other.execute("ROLLBACK")
        other.close()
    store.update_run(rid, name="renamed", wait=5)
    assert store.run_summaries([rid])[0]["name"] == "renamed"


def test_each_sqlite_write_waits_for_the_lock_as_long_as_it_asked(tmp_path: Path) -> None:
    """The bounded wait stays set on a pooled connection between a kernel's writes; a write
    without one (a script's) and every read still get the full wait, after a checkpoint or
    optimize too."""
    from nbtrack.store import durability

    store = Store(f"sqlite:///{tmp_path / 'store'}")

    def busy_ms(conn: Any) -> int:
        return int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar())

    for _ in range(2):
        assert store.write(busy_ms, wait=0.3) == 300
        assert store.write(busy_ms, wait=0.3) == 300
        assert store.write(busy_ms) == 30000
        assert store.write(busy_ms, wait=0.02) == 20
        assert store.read(busy_ms) == 30000
        assert store.write(busy_ms, wait=0.02) == 20
        durability.checkpoint(store)
        durability.optimize(store)
        assert store.write(busy_ms) == 30000
    store.close()


# -- ids, migrations, liveness ------------------------------------------------------------------
def test_resolve_run_id_takes_unique_prefixes(store: Store) -> None:
    for rid in ("abc1" + "0" * 28, "abc2" + "0" * 28, "fff" + "1" * 29):
        _run(store, rid)
    assert store.resolve_run_id("ABC1") == "abc1" + "0" * 28
    assert store.resolve_run_id(" fff ") == "fff" + "1" * 29
    with pytest.raises(NotFoundError, match="ambiguous"):
        store.resolve_run_id("abc")
    with pytest.raises(NotFoundError, match="no run"):
        store.resolve_run_id("0123")
    with pytest.raises(ValidationError):
        store.resolve_run_id("ab%")


def test_a_store_from_a_newer_nbtrack_is_refused(store_url: str) -> None:
    st = Store(store_url)
    st.write(
        lambda conn: conn.execute(
            update(s.meta)
            .where(s.meta.c.key == "schema_version")
            .values(value=str(s.SCHEMA_VERSION + 1))
        )
    )
    st.close()
    with pytest.raises(StoreError, match="newer") as info:
        Store(store_url)
    assert PASSWORD not in str(info.value)


def test_reopening_a_current_store_keeps_its_data(store_url: str) -> None:
    st = Store(store_url)
    _run(st, "12" * 16)
    st.close()
    again = Store(store_url)
    assert again.list_run_ids() == ["12" * 16]
    assert again.read(schema_version) == s.SCHEMA_VERSION


def test_frames_hold_the_exact_logged_metric_values(store: Store) -> None:
    values = [1 / 3, 0.1 + 0.2, 123456789.12345679, 5e-324, 1e308, -0.0, math.inf, -math.inf]
    for i, v in enumerate(values):
        rid = f"{i:02d}" * 16
        store.create_run(
            {"id": rid, "name": f"v{i}", "status": "running", "start_time": float(i)}, "exp", {}, {}
        )
        _points(store, rid, [("v", v, 0, 1.0, None)])
        store.update_run(rid, status="finished", end_time=2.0)  # read from the run's summary
    got = search_runs(order_by=["attributes.start_time"], store=store)["metrics.v"].tolist()
    assert got == values  # (-0.0 reads back as 0.0, equal to it)


def test_a_version_1_postgresql_store_gets_summaries_and_their_triggers(pg_url: str) -> None:
    from nbtrack.lifecycle.edits import set_run_tags

    st = Store(pg_url)
    rid = "34" * 16
    st.create_run(
        {"id": rid, "name": "old", "status": "running", "start_time": 1.0},
        "exp",
        {"lr": "0.1"},
        {"a": "1"},
    )
    st.update_run(rid, status="finished", end_time=2.0)

    def downgrade(conn: Any) -> None:  # version 1 had no summary column and no triggers
        for table in s.SUMMARY_TABLES:
            conn.exec_driver_sql(f"DROP TRIGGER forget_summary ON {table.name}")
        conn.exec_driver_sql("ALTER TABLE runs DROP COLUMN summary")
        conn.execute(update(s.meta).where(s.meta.c.key == "schema_version").values(value="1"))

    st.write(downgrade)
    st.close()
    st = Store(pg_url)
    summary = st.read(lambda conn: conn.execute(select(s.runs.c.summary)).scalar())
    assert json.loads(summary) == {"p": {"lr": "0.1"}, "m": None, "t": {"a": "1"}}
    set_run_tags(rid, {"a": "2"}, store=st)
    assert search_runs(store=st)["tags.a"].tolist() == ["2"]
    st.close()


def test_runs_of_dead_processes_on_this_host_are_marked_killed(store: Store) -> None:
    import psutil

    add_ended_process_session(store, "d" * 32)
    store.add_session(
        {
            "id": "e" * 32,
            "kind": "script",
            "started": 1.0,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "pid_started": psutil.Process().create_time(),
        }
    )
    _run(store, "dd" * 16, session_id="d" * 32, start_time=5.0)
    _run(store, "ee" * 16, session_id="e" * 32, start_time=5.0)
    _points(store, "dd" * 16, [("x", 1.0, 0, 9.0, None)])
    assert store.detect_killed() == 1
    rows = {r["id"]: r for r in store.run_summaries(["dd" * 16, "ee" * 16])}
    assert (rows["dd" * 16]["status"], rows["dd" * 16]["end_time"]) == ("killed", 9.0)
    assert rows["ee" * 16]["status"] == "running"


# -- the search layer -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, expected",
    [
        ("metrics.acc > 0.9 AND params.model = 'rf'", {"rf-small"}),
        ("tags.owner LIKE 'an%'", {"rf-small", "xgb-big"}),
        ("tags.owner ILIKE 'an%'", {"rf-small", "xgb-big", "Running one"}),
        ("params.lr > 0.005", {"rf-small", "xgb-big"}),
        ("params.lr < 0.005", {"Running one"}),
        ("metrics.acc IS NULL", {"rf-eval"}),
        ("MAX(metrics.acc) > 0.9", {"rf-small", "xgb-big"}),
        ("attributes.reproduced = true", {"rf-eval"}),
        ("attributes.reproduced = false", {"Running one"}),
        ("attributes.status = 'FINISHED'", {"rf-small", "xgb-big"}),
        ("attributes.start_time = '2026-11-23'", {"rf-small", "Running one"}),
        ("cells.error_type = 'ZeroDivisionError'", {"Running one"}),
        ("cells.source LIKE '%xgboost%'", {"xgb-big"}),
        ("cells.source ILIKE '%IMPORT TORCH%'", {"Running one"}),
        ("experiment = 'eval' AND attributes.duration < 10", {"rf-eval"}),
    ],
)
def test_search_selects_the_same_runs_on_both_backends(
    store: Store, text: str, expected: set[str]
) -> None:
    fill(store)
    ids, _ = search_run_ids(store, text)
    assert set(names(store, ids)) == expected


def test_search_orders_pages_and_builds_frames(store: Store) -> None:
    fill(store)
    ids, token = search_run_ids(store, None, order_by=["metrics.acc DESC"], max_results=2)
    assert names(store, ids) == ["rf-small", "xgb-big"]
    rest, end = search_run_ids(
        store, None, order_by=["metrics.acc DESC"], max_results=2, page_token=token
    )
    assert names(store, rest) == ["Running one", "rf-eval"] and end is None
    assert names(store, search_run_ids(store, None, order_by=["params.lr ASC"])[0]) == [
        "Running one",
        "rf-small",
        "xgb-big",
        "rf-eval",
    ]
    df = search_runs("params.model = 'rf'", order_by=["attributes.start_time"], store=store)
    assert list(df["run_name"]) == ["rf-small", "rf-eval"]
    assert df.loc[0, "metrics.acc"] == 0.91 and math.isnan(df.loc[1, "metrics.acc"])
    assert df.loc[0, "tags.owner"] == "anna" and df.loc[0, "run_id"] == run_id(1)


def test_frames_follow_changes_made_after_a_run_ended(store: Store) -> None:
    """An ended run's params, metrics and tags are read from its kept summary; editing any
    of them afterwards (tags from the sidebar, a late metric, a param) shows in the next frame."""
    from nbtrack.lifecycle.edits import delete_run_tag, set_run_tags

    rid = "cd" * 16
    store.create_run(
        {"id": rid, "name": "late", "status": "running", "start_time": 100.0},
        "exp",
        {"lr": "0.1"},
        {"stage": "dev", "old": "x"},
    )
    _points(store, rid, [("acc", 0.5, 0, 100.0, None), ("loss", float("inf"), 0, 100.0, None)])
    store.update_run(rid, status="finished", end_time=130.0)

    def frame() -> dict[str, Any]:
        row = search_runs(store=store).iloc[0]
        return {k: v for k, v in row.items() if k.startswith(("params.", "metrics.", "tags."))}

    assert frame() == {
        "params.lr": "0.1",
        "metrics.acc": 0.5,
        "metrics.loss": math.inf,
        "tags.old": "x",
        "tags.stage": "dev",
    }
    set_run_tags(rid, {"stage": "prod"}, store=store)
    delete_run_tag(rid, "old", store=store)
    _points(store, rid, [("acc", 0.75, 1, 131.0, None)])
    store.write(lambda conn: store.write_batch(conn, rid, {"lr": "0.2"}, {}, []))
    assert frame() == {
        "params.lr": "0.2",
        "metrics.acc": 0.75,
        "metrics.loss": math.inf,
        "tags.stage": "prod",
    }


# -- credentials ------------------------------------------------------------------------------
def test_passwords_never_show_in_reprs_errors_or_cli_output(
    pg_url: str, pg_server: Any, tmp_path: Path
) -> None:
    st = Store(pg_url)
    assert PASSWORD not in repr(st) and "***" in repr(st)
    with pytest.raises(NotFoundError) as info:
        st.resolve_run_id("abcdef")
    assert PASSWORD not in str(info.value) and "***" in str(info.value)
    wrong = pg_url.replace(PASSWORD, "wrong-Pa55")
    with pytest.raises(StoreError) as bad:
        Store(wrong)
    assert "wrong-Pa55" not in str(bad.value)
    out = run_cli("runs", "--store", wrong, env={"NBTRACK_BLOBS": str(tmp_path / "b")})
    assert out.returncode != 0 and "wrong-Pa55" not in out.stdout + out.stderr
    assert "password authentication failed" in out.stderr


def test_blob_location_of_a_server_store_is_recorded_for_every_opener(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTRACK_BLOBS", str(tmp_path / "shared"))
    first = Store(pg_url)
    rid = "77" * 16
    _run(first, rid)
    h = first.add_artifact(rid, "a.txt", b"shared bytes")
    monkeypatch.delenv("NBTRACK_BLOBS")
    monkeypatch.chdir(tmp_path)
    other = Store(pg_url)
    assert other.blobs.root == str(tmp_path / "shared")
    assert other.get_blob(h) == b"shared bytes"


# -- blobs on any fsspec filesystem -----------------------------------------------------------
class FlakyMemoryFS:
    """fsspec's in-memory filesystem whose writes fail ``failures`` times before succeeding
    (``failures < 0``: always), as an object store does on transient errors."""

    failures = 0
    attempts = 0

    @classmethod
    def make(cls) -> type:
        from fsspec.implementations.memory import MemoryFileSystem

        class Flaky(MemoryFileSystem):
            protocol = ("flaky",)

            def pipe_file(self, path: str, value: bytes, **kwargs: Any) -> None:
                cls.attempts += 1
                if cls.failures != 0:
                    cls.failures -= 1
                    raise ConnectionResetError("connection reset by peer")
                super().pipe_file(path, value, **kwargs)

        return Flaky


@pytest.fixture
def flaky_fs() -> type[FlakyMemoryFS]:
    import fsspec

    fsspec.register_implementation("flaky", FlakyMemoryFS.make(), clobber=True)
    FlakyMemoryFS.failures = FlakyMemoryFS.attempts = 0
    return FlakyMemoryFS


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("blobs", ["memory", "local"])
def test_artifacts_go_to_the_blob_url_of_nbtrack_blobs(
    backend: str,
    blobs: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uuid

    import fsspec

    url = (
        f"memory://nbtrack-{uuid.uuid4().hex[:8]}/blobs"
        if blobs == "memory"
        else str(tmp_path / "team-blobs")
    )
    monkeypatch.setenv("NBTRACK_BLOBS", url)
    st = Store(_open(backend, request, tmp_path))
    rid = "9a" * 16
    _run(st, rid)
    h = st.add_artifact(rid, "report.html", b"<p>hi</p>")
    st.add_artifact(rid, "copy.html", b"<p>hi</p>")  # same content, stored once
    fs, root = fsspec.core.url_to_fs(url)
    assert fs.cat_file(f"{root}/{h[:2]}/{h[2:]}") == b"<p>hi</p>"
    assert not [p for p in fs.find(root) if p.endswith(".tmp")]
    assert sorted(st.blobs.all_hashes()) == [h]
    assert st.get_blob(h) == b"<p>hi</p>"
    st.close()


@pytest.mark.parametrize("step", ["mkdir", "replace"])
def test_a_store_moved_while_a_blob_is_written_says_so(
    step: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's folder moved away in the middle of a blob's write (a race the check before
    the write cannot close): the error names the vanished blob directory, not a temporary
    file; no part of the store is made again at the old path, and no blob stands under its
    name (the moved store keeps at most an unlisted .tmp)."""
    import nbtrack.store.blobs as blobs

    st = Store(str(tmp_path / "store"))
    real = getattr(os, step)

    def move_the_store_first(*args: Any) -> None:
        os.rename(tmp_path / "store", tmp_path / "away")
        real(*args)

    monkeypatch.setattr(blobs.os, step, move_the_store_first)
    with pytest.raises(StoreError, match="blob directory .* is not there any more"):
        st.put_blob(b"written while the store moved")
    monkeypatch.undo()
    assert not (tmp_path / "store").exists()
    blobs_dir = tmp_path / "away" / "blobs"
    assert not [p for p in blobs_dir.rglob("*") if p.is_file() and not p.name.endswith(".tmp")]
    st.close()


def test_blob_uploads_are_retried_on_transient_errors(
    flaky_fs: type[FlakyMemoryFS], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTRACK_BLOBS", "flaky://bucket/blobs")
    st = Store(str(tmp_path / "store"))
    rid = "5b" * 16
    _run(st, rid)
    flaky_fs.failures = 2
    h = st.add_artifact(rid, "a.bin", b"payload")
    assert flaky_fs.attempts == 3
    assert st.get_blob(h) == b"payload" and [a["path"] for a in st.artifacts_of(rid)] == ["a.bin"]


def test_a_run_never_points_at_a_blob_that_was_not_written(
    flaky_fs: type[FlakyMemoryFS], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbtrack

    monkeypatch.setenv("NBTRACK_BLOBS", "flaky://bucket/blobs")
    st = Store(str(tmp_path / "store"))
    run = nbtrack.start_run(name="upload fails", store=st, log_system_metrics=False)
    run.session.environment()  # its manifest is written before the store starts failing
    flaky_fs.failures = -1
    with pytest.warns(
        NbtrackWarning, match="could not write blob"
    ):  # kept in memory, retried later
        run.log_text("late", "notes.txt")
    assert st.artifacts_of(run.id) == []  # no row before its blob is written
    flaky_fs.failures = 0
    run.log_text("kept", "kept.txt")
    run.end()
    assert [a["path"] for a in st.artifacts_of(run.id)] == ["kept.txt", "notes.txt"]
    assert all(st.blobs.exists(a["blob_hash"]) for a in st.artifacts_of(run.id))


# -- many writers at once ---------------------------------------------------------------------
WRITER = """
import sys
import nbtrack
url, n, worker = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with nbtrack.start_run(name="writer-" + worker, experiment="concurrent", store=url,
                       params={"worker": worker}, log_system_metrics=False) as run:
    for i in range(n):
        run.log_metric("x", float(i))
        run.log_metric("y", -float(i), step=i)
        if i % 200 == 199:
            run.flush()  # many small transactions, interleaved with the other writers
print(run.id)
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_sixteen_concurrent_writers_lose_nothing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """16 processes open a brand-new store at once (racing to create it) and log 2 x 2,000 points each."""
    monkeypatch.setenv("NBTRACK_BLOBS", str(tmp_path / "blobs"))
    url, n, writers = _open(backend, request, tmp_path), 2000, 16
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(n), str(w)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "default"},
        )
        for w in range(writers)
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
        for bad in ("NbtrackWarning", "locked", "serializ", "deadlock", "Traceback"):
            assert bad not in err, err
    run_ids = sorted(out.strip() for out, _ in outputs)
    st = Store(url)
    assert sorted(st.list_run_ids("concurrent")) == run_ids
    m = s.metrics
    counts = st.read(
        lambda conn: dict(conn.execute(select(m.c.run_id, func.count()).group_by(m.c.run_id)).all())
    )
    assert counts == {rid: 2 * n for rid in run_ids}
    sums = st.read(
        lambda conn: conn.execute(select(func.sum(m.c.value)).where(m.c.key == "x")).scalar()
    )
    assert sums == writers * n * (n - 1) / 2
    for row in st.run_summaries(run_ids):
        assert row["status"] == "finished" and row["metrics"] == {"x": n - 1, "y": -(n - 1)}
        assert st.metric_summary(row["id"])["x"]["count"] == n
    assert (
        st.read(lambda conn: conn.execute(select(func.count()).select_from(s.experiments)).scalar())
        == 1
    )


# -- end to end: a kernel recording into PostgreSQL -------------------------------------------
@pytest.mark.slow
def test_a_kernel_records_a_tracked_cell_into_postgresql(
    start_kernel: Any, pg_url: str, tmp_path: Path
) -> None:
    blobs = str(tmp_path / "blobs")
    k = start_kernel(NBTRACK_STORE=pg_url, NBTRACK_BLOBS=blobs)
    k.ok("%load_ext nbtrack")
    k.ok("data = list(range(10))")
    k.ok(
        "%%track --name pg-run --experiment team --param lr=0.1 --tag owner=ana\n"
        "import nbtrack\n"
        "for i in range(5):\n"
        "    nbtrack.log_metric('loss', 1 / (i + 1))\n"
        "nbtrack.log_text('done', 'notes.txt')"
    )
    env = {"NBTRACK_BLOBS": blobs}
    out = run_cli("runs", "--store", pg_url, "--format", "json", env=env)
    assert out.returncode == 0, out.stderr
    (run,) = json.loads(out.stdout)["runs"]
    assert (run["name"], run["experiment"], run["status"]) == ("pg-run", "team", "finished")
    assert (
        run["params"] == {"lr": "0.1"}
        and run["tags"]["owner"] == "ana"
        and run["metrics"]["loss"] == 0.2
    )
    shown = run_cli("show", run["id"][:6], "--store", pg_url, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert [c["source"] for c in detail["cells"]][:2] == [
        "%load_ext nbtrack",
        "data = list(range(10))",
    ]
    assert detail["cells"][-1]["in_run"] and "data" in detail["cells"][-1]["state"]
    assert [a["path"] for a in detail["artifacts"]] == ["notes.txt"]
    assert detail["environment"] is not None  # its manifest blob went to NBTRACK_BLOBS
    table = run_cli("runs", "--store", pg_url, env=env)
    for text in (out.stdout, out.stderr, shown.stdout, shown.stderr, table.stdout, table.stderr):
        assert PASSWORD not in text
    st = Store(pg_url)
    dump = st.read(
        lambda conn: [
            str(row)
            for table in s.metadata.sorted_tables
            for row in conn.execute(select(table)).all()
        ]
    )
    assert not [row for row in dump if PASSWORD in row]
