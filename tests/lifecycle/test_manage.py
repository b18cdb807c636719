"""Managing recorded runs on real SQLite stores: edits, delete/restore, experiments, gc,
nested runs, compare and portable bundles of many runs."""

from __future__ import annotations

import json
import os
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest

from nbtrack.errors import NotFoundError, ValidationError
from nbtrack.lifecycle import edits as manage
from nbtrack.lifecycle import experiments as ex
from nbtrack.lifecycle.gc import gc
from nbtrack.lifecycle.transfer import export_runs, import_runs
from nbtrack.query.compare import compare_runs, comparison_lines
from nbtrack.query.runs import run_detail
from nbtrack.query.runtree import nest
from nbtrack.query.search import search_run_ids
from nbtrack.store import CellRecord, FileEvent, Store
from nbtrack.store import schema as s
from nbtrack.store.blobs import content_hash


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(str(tmp_path / "store"))


def make_run(
    store: Store,
    *,
    name: str = "run",
    experiment: str = "exp",
    start: float | None = None,
    params: dict[str, str] | None = None,
    tags: dict[str, str] | None = None,
    metrics: dict[str, list[float]] | None = None,
    cells: list[str] | None = None,
    artifacts: dict[str, bytes] | None = None,
    snapshot: dict[str, bytes] | None = None,
    env: bytes | None = None,
    notebook: bytes | None = None,
    parent: str | None = None,
    session: str | None = None,
) -> str:
    """A run written through the store API: its own session of ``cells`` (or a share of
    ``session``), metric histories, artifacts, code snapshot, environment and notebook blobs."""
    run_id = uuid.uuid4().hex
    start = time.time() if start is None else start
    session_id, start_seq, end_seq = session, None, None
    if cells is not None:
        session_id = session or uuid.uuid4().hex
        if session is None:
            store.add_session(
                {"id": session_id, "kind": "kernel", "started": start, "host": "test", "pid": 1}
            )
        base = store.read(
            lambda c: c.execute(s.cells.select().where(s.cells.c.session_id == session_id)).all()
        )
        first = len(base) + 1
        for seq, source in enumerate(cells, first):
            store.record_cell(
                CellRecord(
                    session_id,
                    seq,
                    source,
                    start + seq,
                    start + seq + 0.5,
                    "ok",
                    execution_count=seq,
                    cell_id=f"cell-{seq}",
                    created=(f"v{seq}",),
                    state_diff={f"v{seq}": f"h{seq}"},
                )
            )
        store.add_file_events(
            [FileEvent(session_id, "/data/in.csv", "read", seq=first, hash="f" * 32, size=10)]
        )
        start_seq, end_seq = first, first + len(cells) - 1
    row: dict[str, Any] = {
        "id": run_id,
        "name": name,
        "status": "finished",
        "start_time": start,
        "end_time": start + 60,
        "session_id": session_id,
        "start_seq": start_seq,
        "end_seq": end_seq,
        "parent_run_id": parent,
    }
    if env is not None:
        row["env_hash"] = store.put_blob(env)
        if session_id and session is None:
            store.set_session_env(session_id, row["env_hash"])
    if notebook is not None:
        row["notebook_hash"] = store.put_blob(notebook)
    if snapshot is not None:
        files = {path: store.put_blob(data) for path, data in snapshot.items()}
        row["snapshot_hash"] = store.put_blob(json.dumps(files, sort_keys=True).encode())
    store.create_run(row, experiment, params or {}, tags or {})
    for key, values in (metrics or {}).items():
        points = [(key, v, i, start + i, None) for i, v in enumerate(values)]
        store.log_batch(run_id, {}, {}, points)
    for path, data in (artifacts or {}).items():
        store.add_artifact(run_id, path, data)
    store.add_file_events(
        [
            FileEvent(
                session_id or "none",
                "/data/declared.csv",
                "input",
                run_id=run_id,
                hash="e" * 32,
                size=5,
            )
        ]
    )
    return run_id


def live_ids(store: Store, **kw: Any) -> list[str]:
    return search_run_ids(store, order_by=["attributes.start_time ASC"], **kw)[0]


def count_rows(store: Store) -> dict[str, int]:
    from sqlalchemy import func, select

    return store.read(
        lambda c: {
            t.name: c.execute(select(func.count()).select_from(t)).scalar()
            for t in s.metadata.sorted_tables
        }
    )


def age_blobs(store: Store, seconds: float = 7200) -> None:
    old = time.time() - seconds
    for h in store.blobs.all_hashes():
        os.utime(store.blobs._path(h), (old, old))


# -- run edits ------------------------------------------------------------------------------
def test_rename_notes_tags_and_move_are_saved(store: Store) -> None:
    rid = make_run(store, tags={"stale": "1"})
    ex.create_experiment("other", store=store)
    manage.rename_run(rid[:6], "better", store=store)
    manage.set_run_notes(rid, "# Findings\n*good*", store=store)
    manage.set_run_tag(rid, "owner", "ana", store=store)
    manage.set_run_tags(rid, {"stage": 2}, store=store)
    manage.delete_run_tag(rid, "stale", store=store)
    manage.move_run(rid, "other", store=store)
    (row,) = store.run_summaries([rid])
    assert (row["name"], row["notes"], row["experiment"]) == (
        "better",
        "# Findings\n*good*",
        "other",
    )
    assert row["tags"] == {"owner": "ana", "stage": "2"}
    manage.set_run_notes(rid, "", store=store)
    assert store.run_summaries([rid])[0]["notes"] is None


def test_bad_edits_name_the_problem(store: Store) -> None:
    rid = make_run(store)
    with pytest.raises(NotFoundError, match="did you mean 'exp'"):
        manage.move_run(rid, "exq", store=store)
    with pytest.raises(NotFoundError, match="no tag 'nope'"):
        manage.delete_run_tag(rid, "nope", store=store)
    with pytest.raises(ValidationError, match="tag name"):
        manage.set_run_tag(rid, "a<b", "x", store=store)
    with pytest.raises(ValidationError, match="run name"):
        manage.rename_run(rid, "  ", store=store)


# -- delete / restore -----------------------------------------------------------------------
def test_deleted_run_leaves_searches_until_restored(store: Store) -> None:
    a, b = make_run(store, start=1.0), make_run(store, start=2.0)
    manage.delete_run(a, store=store)
    assert live_ids(store) == [b]
    assert live_ids(store, include_deleted=True) == [a, b]
    manage.restore_run(a[:8], store=store)
    assert live_ids(store) == [a, b]


def test_bulk_delete_takes_the_oldest_runs_started_before_a_time_at_most_max_runs(
    store: Store,
) -> None:
    ids = [make_run(store, start=float(86400 * d)) for d in range(1, 6)]  # 1970-01-02 .. 01-06
    assert manage.delete_runs(before="1970-01-04", max_runs=2, dry_run=True, store=store) == ids[:2]
    assert live_ids(store) == ids  # a dry run changes nothing
    assert manage.delete_runs(before="1970-01-04", max_runs=2, store=store) == ids[:2]
    assert manage.delete_runs(before=86400 * 4, store=store) == ids[2:4]
    assert live_ids(store) == ids[4:]


def test_bulk_delete_and_restore_by_experiment_and_filter(store: Store) -> None:
    rf = make_run(store, experiment="a", params={"model": "rf"}, start=1.0)
    lr = make_run(store, experiment="a", params={"model": "lr"}, start=2.0)
    other = make_run(store, experiment="b", params={"model": "rf"}, start=3.0)
    assert manage.delete_runs(experiment="a", filter_string="params.model = 'rf'", store=store) == [
        rf
    ]
    assert manage.delete_runs(filter_string="params.model = 'lr'", store=store) == [lr]
    assert live_ids(store) == [other]
    assert manage.restore_runs(experiment="a", max_runs=1, store=store) == [
        lr
    ]  # most recently deleted first
    assert manage.restore_runs(filter_string="params.model = 'rf'", store=store) == [rf]
    with pytest.raises(ValidationError, match="name the runs, or select them"):
        manage.delete_runs(store=store)
    with pytest.raises(ValidationError, match="not both"):
        manage.delete_runs([rf], experiment="a", store=store)


def test_times_and_durations_as_users_type_them() -> None:
    from nbtrack.timespec import parse_duration, parse_time

    assert parse_duration("30d") == 30 * 86400 and parse_duration("1d2h3m4s") == 93784
    assert parse_duration("1.5h") == 5400 and parse_duration("90") == 90
    assert parse_time("1970-01-02") == 86400 and parse_time("1970-01-01T01:00:00+01:00") == 0
    assert parse_time("86400.5") == 86400.5
    with pytest.raises(ValidationError, match="not a duration: '3 weeks'"):
        parse_duration("3 weeks")
    with pytest.raises(ValidationError, match="not a time: 'yesterday'"):
        parse_time("yesterday")


# -- experiments ----------------------------------------------------------------------------
def test_experiments_create_rename_list_delete_restore(store: Store) -> None:
    ex.create_experiment("empty", store=store)
    with pytest.raises(ValidationError, match="already exists"):
        ex.create_experiment("empty", store=store)
    a = make_run(store, experiment="churn")
    dead = make_run(store, experiment="churn")
    manage.delete_run(dead, store=store)
    ex.rename_experiment("churn", "churn-v2", store=store)
    assert store.run_summaries([a])[0]["experiment"] == "churn-v2"
    listed = {e["name"]: (e["runs"], e["deleted_runs"]) for e in ex.list_experiments(store=store)}
    assert listed == {"churn-v2": (1, 1), "empty": (0, 0)}
    # the old name is free again: a new run under it makes a new experiment
    b = make_run(store, experiment="churn")
    assert store.run_summaries([b])[0]["experiment"] == "churn"

    ex.delete_experiment("churn-v2", store=store)
    assert live_ids(store) == [b]
    assert [e["name"] for e in ex.list_experiments(store=store)] == ["churn", "empty"]
    assert [e["name"] for e in ex.list_experiments(include_deleted=True, store=store)] == [
        "churn",
        "churn-v2",
        "empty",
    ]
    with pytest.raises(NotFoundError, match="deleted; restore it"):
        manage.move_run(b, "churn-v2", store=store)
    ex.restore_experiment("churn-v2", store=store)
    assert set(live_ids(store)) == {a, b}


# -- gc -------------------------------------------------------------------------------------
def test_gc_frees_exactly_what_no_remaining_run_references(store: Store) -> None:
    shared_env = b'{"python": "3.11"}'
    keep = make_run(
        store,
        cells=["import numpy", "x = 1"],
        artifacts={"model.bin": b"shared weights"},
        snapshot={"util.py": b"def f(): pass"},
        env=shared_env,
        notebook=b"nb kept",
    )
    gone = make_run(
        store,
        cells=["import numpy", "secret = 42"],
        env=shared_env,
        notebook=b"nb gone",
        artifacts={"model.bin": b"shared weights", "only.txt": b"mine alone"},
        snapshot={"util.py": b"def f(): pass", "train.py": b"train()"},
    )
    before = count_rows(store)
    blobs_before = set(store.blobs.all_hashes())
    manage.delete_run(gone, store=store)
    age_blobs(store)

    report = gc(store=store)

    assert report.runs == [gone]
    after = count_rows(store)
    freed = {t: before[t] - after[t] for t in before if before[t] != after[t]}
    assert freed == {
        "runs": 1,
        "artifacts": 2,
        "file_events": 2,
        "sessions": 1,
        "cells": 2,
        "cell_state": 2,
        "sources": 1,
    }
    assert {k: v for k, v in report.rows.items() if v} == freed
    removed = blobs_before - set(store.blobs.all_hashes())
    manifest = json.dumps(
        {"train.py": content_hash(b"train()"), "util.py": content_hash(b"def f(): pass")},
        sort_keys=True,
    ).encode()
    gone_only = [b"mine alone", b"train()", b"nb gone", manifest]
    assert removed == {content_hash(b) for b in gone_only}
    assert (report.blobs, report.bytes) == (4, sum(len(b) for b in gone_only))
    # everything the live run refers to is still readable
    detail = run_detail(store, keep)
    assert detail["environment"] == {"python": "3.11"}
    assert [c["source"] for c in detail["cells"]] == ["import numpy", "x = 1"]
    assert store.get_blob(detail["artifacts"][0]["hash"]) == b"shared weights"
    from nbtrack.capture.snapshot import snapshot_files

    row = store.run_summaries([keep])[0]
    assert {
        p: store.get_blob(h) for p, h in snapshot_files(store, row["snapshot_hash"]).items()
    } == {"util.py": b"def f(): pass"}
    assert store.get_blob(row["notebook_hash"]) == b"nb kept"
    assert gc(store=store).blobs == 0  # nothing left to free


def test_gc_reports_bytes_of_the_blobs_it_removed(store: Store) -> None:
    rid = make_run(store, artifacts={"a.bin": b"x" * 1000, "b.bin": b"y" * 24})
    manage.delete_run(rid, store=store)
    age_blobs(store)
    report = gc(store=store)
    assert (report.blobs, report.bytes) == (2, 1024)
    assert "freed 1 run(s), 0 experiment(s)" in report.lines()[0] and "1.0 KB" in report.lines()[0]


def test_gc_keeps_runs_deleted_more_recently_than_older_than(store: Store) -> None:
    old, recent = make_run(store), make_run(store)
    manage.delete_runs([old, recent], store=store)
    store.update_run(old, deleted_at=time.time() - 40 * 86400)
    report = gc("30d", store=store)
    assert report.runs == [old]
    assert live_ids(store, include_deleted=True) == [recent]


def test_gc_dry_run_reports_and_frees_nothing(store: Store) -> None:
    rid = make_run(store, cells=["a = 1"], artifacts={"a.bin": b"abc"})
    manage.delete_run(rid, store=store)
    age_blobs(store)
    rows, blobs = count_rows(store), set(store.blobs.all_hashes())
    report = gc(dry_run=True, store=store)
    assert (
        report.runs == [rid]
        and report.blobs == 1
        and report.bytes == 3
        and report.rows["runs"] == 1
    )
    assert "would free" in report.lines()[0]
    assert count_rows(store) == rows and set(store.blobs.all_hashes()) == blobs


def test_gc_keeps_unreferenced_blobs_written_in_the_grace_period(store: Store) -> None:
    store.put_blob(b"an artifact whose row is not written yet")
    report = gc(store=store)
    assert (report.blobs, report.recent_blobs_kept) == (0, 1)
    assert gc(grace=0, store=store).blobs == 1


def test_gc_purges_a_deleted_experiment_with_its_runs(store: Store) -> None:
    a, b = make_run(store, experiment="old"), make_run(store, experiment="new")
    ex.delete_experiment("old", store=store)
    report = gc(store=store)
    assert (report.runs, report.experiments) == ([a], ["old"])
    assert [e["name"] for e in ex.list_experiments(include_deleted=True, store=store)] == ["new"]
    assert live_ids(store) == [b]


def test_gc_removes_no_blob_when_a_live_snapshot_is_unreadable(store: Store) -> None:
    make_run(store, snapshot={"a.py": b"a"})
    gone = make_run(store, artifacts={"x": b"x"})
    snap = store.run_summaries([live_ids(store)[0]])[0]["snapshot_hash"]
    path = store.blobs._path(snap)
    Path(path).write_bytes(b"not json")
    manage.delete_run(gone, store=store)
    age_blobs(store)
    report = gc(store=store)
    assert (
        report.runs == [gone] and report.blobs == 0 and "unreadable" in (report.blob_problem or "")
    )


# -- nested runs ----------------------------------------------------------------------------
def test_children_are_listed_under_their_parent_and_searchable(store: Store) -> None:
    parent = make_run(store, name="sweep", start=1.0)
    kids = [
        make_run(store, name=f"lr={lr}", parent=parent, start=2.0 + i)
        for i, lr in enumerate((0.1, 0.01))
    ]
    grandchild = make_run(store, name="fold", parent=kids[0], start=5.0)
    loner = make_run(store, name="alone", start=6.0)
    records = [
        {"id": r["id"], "parent_run_id": r["parent_run_id"]}
        for r in store.run_summaries(live_ids(store))[::-1]
    ]
    assert [(d, r["id"]) for d, r in nest(records)] == [
        (0, loner),
        (0, parent),
        (1, kids[1]),
        (1, kids[0]),
        (2, grandchild),
    ]
    found = search_run_ids(
        store, f"attributes.parent_run_id = '{parent}'", order_by=["attributes.start_time"]
    )[0]
    assert found == kids


# -- compare --------------------------------------------------------------------------------
def test_compare_hides_identical_rows_and_diffs_the_code(store: Store) -> None:
    a = make_run(
        store,
        name="a",
        params={"lr": "0.1", "seed": "1"},
        tags={"team": "x"},
        metrics={"loss": [0.9, 0.5, 0.7], "system/cpu": [3.0]},
        cells=["import numpy", "lr = 0.1\nfit(lr)"],
    )
    b = make_run(
        store,
        name="b",
        params={"lr": "0.01", "seed": "1"},
        tags={"team": "x"},
        metrics={"loss": [0.8, 0.3]},
        cells=["import numpy", "lr = 0.01\nfit(lr)", "plot()"],
    )
    data = compare_runs([a, b], store=store)
    assert [p["key"] for p in data["params"]] == ["lr"] and data["tags"] == []
    (loss,) = data["metrics"]
    assert loss["values"] == [
        {"min": 0.5, "max": 0.9, "last": 0.7},
        {"min": 0.3, "max": 0.8, "last": 0.3},
    ]
    kinds = [c["kind"] for c in data["code"][0]["cells"]]
    assert kinds == ["same", "changed", "added"]
    everything = compare_runs([a, b], all_rows=True, store=store)
    assert [p["key"] for p in everything["params"]] == ["lr", "seed"]
    assert [m["key"] for m in everything["metrics"]] == ["loss", "system/cpu"]
    text = "\n".join(comparison_lines(data))
    assert "-lr = 0.1" in text and "+lr = 0.01" in text and "+plot()" in text and " fit(lr)" in text
    assert "0.5 / 0.9 / 0.7" in text and "seed" not in text
    with pytest.raises(ValidationError, match="at least two"):
        compare_runs([a], store=store)


# -- portable bundles -----------------------------------------------------------------------
def _full_run(store: Store, **kw: Any) -> str:
    return make_run(
        store,
        params={"lr": "0.1"},
        tags={"t": "1"},
        metrics={"loss": [1.0, 0.5, float("nan")]},
        cells=["import numpy", "x = 1"],
        artifacts={"m.bin": b"weights"},
        env=b'{"python": "3.11"}',
        notebook=b"{}",
        snapshot={"util.py": b"u = 1"},
        **kw,
    )


def _comparable(store: Store, rid: str) -> str:
    """Everything ``nbtrack show --json`` shows, plus the metric history, as JSON text (NaN == NaN)."""
    detail = run_detail(store, rid)
    detail["metric_history"] = store.metric_history(rid, "loss")
    return json.dumps(detail, default=str, sort_keys=True)


def test_export_and_import_runs_round_trip_into_a_fresh_store(store: Store, tmp_path: Path) -> None:
    parent = _full_run(store, experiment="sweep")
    child = _full_run(store, experiment="sweep", parent=parent)
    make_run(store, experiment="elsewhere")
    bundle = tmp_path / "runs.zip"
    manifest = export_runs(bundle, experiment_names=["sweep"], store=store)
    assert sorted(manifest["run_ids"]) == sorted([parent, child])

    target = Store(str(tmp_path / "target"))
    report = import_runs(bundle, store=target)
    assert sorted(report.runs) == sorted([parent, child]) and report.blobs == 5  # shared by both
    for rid in (parent, child):
        assert _comparable(target, rid) == _comparable(store, rid)
    row = target.run_summaries([child])[0]
    from nbtrack.capture.snapshot import snapshot_files

    assert {
        p: target.get_blob(h) for p, h in snapshot_files(target, row["snapshot_hash"]).items()
    } == {"util.py": b"u = 1"}

    rows = count_rows(target)
    again = import_runs(bundle, store=target)
    assert again.runs == [] and sorted(again.skipped) == sorted([parent, child])
    assert count_rows(target) == rows


def test_import_adds_only_the_runs_a_store_lacks(store: Store, tmp_path: Path) -> None:
    first = _full_run(store, start=1.0)
    export_runs(tmp_path / "one.zip", [first], store=store)
    target = Store(str(tmp_path / "target"))
    import_runs(tmp_path / "one.zip", store=target)
    second = _full_run(store, start=2.0)
    export_runs(tmp_path / "both.zip", filter_string="params.lr = '0.1'", store=store)
    report = import_runs(tmp_path / "both.zip", store=target)
    assert (report.runs, report.skipped) == ([second], [first])
    assert _comparable(target, second) == _comparable(store, second)


def _rewrite(src: Path, dst: Path, change: Any) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = change(item.filename, zin.read(item.filename))
            if data is not None:
                zout.writestr(item.filename, data)
    return dst


@pytest.mark.parametrize(
    ("member", "change", "message"),
    [
        ("blobs/", lambda data: data + b"!", "is corrupt"),
        ("tables/metrics.jsonl", lambda data: data[:-20], "not JSON"),
        (
            "tables/runs.jsonl",
            lambda data: data.replace(b'"name"', b'"nom"'),
            "does not match the runs table",
        ),
        ("nbtrack-runs.json", lambda data: b"{}", "not an nbtrack runs bundle"),
        ("tables/cells.jsonl", lambda data: None, "cells.jsonl is missing"),
    ],
)
def test_a_bad_bundle_is_refused_and_the_store_is_untouched(
    store: Store, tmp_path: Path, member: str, change: Any, message: str
) -> None:
    _full_run(store)
    good = tmp_path / "good.zip"
    export_runs(good, filter_string="", store=store)
    done = [False]

    def tamper(name: str, data: bytes) -> bytes | None:
        if name.startswith(member) and not done[0]:
            done[0] = True
            return change(data)
        return data

    bad = _rewrite(good, tmp_path / "bad.zip", tamper)
    target = Store(str(tmp_path / "target"))
    make_run(target)
    rows = count_rows(target)
    with pytest.raises(ValidationError, match=message):
        import_runs(bad, store=target)
    assert count_rows(target) == rows


def test_not_a_zip_is_a_clear_error(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "x.zip"
    path.write_text("hello")
    with pytest.raises(ValidationError, match="not an nbtrack runs bundle"):
        import_runs(path, store=store)


@pytest.mark.slow
def test_runs_move_from_sqlite_to_postgresql_through_a_bundle_and_gc_there(
    store: Store, tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = _full_run(store)
    export_runs(tmp_path / "b.zip", [rid], store=store)
    monkeypatch.setenv("NBTRACK_BLOBS", str(tmp_path / "pg-blobs"))
    target = Store(pg_url)
    try:
        assert import_runs(tmp_path / "b.zip", store=target).runs == [rid]
        assert import_runs(tmp_path / "b.zip", store=target).skipped == [rid]
        assert _comparable(target, rid) == _comparable(store, rid)
        assert [e["runs"] for e in ex.list_experiments(store=target)] == [1]
        manage.delete_run(rid, store=target)
        report = gc(grace=0, store=target)
        assert report.runs == [rid] and report.blobs == 5 and report.rows["cells"] == 2
    finally:
        target.close()
