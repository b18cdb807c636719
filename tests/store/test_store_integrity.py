"""``nbtrack doctor`` and schema migrations, against damage done to real store files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import run_cli

import nbtrack
from nbtrack.store import open_store


def doctor_json(store_dir: Path, *extra: str) -> tuple[int, dict]:
    out = run_cli("doctor", "--store", str(store_dir), "--json", *extra)
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, json.loads(out.stdout)


def by_check(report: dict) -> dict[str, dict]:
    return {f["check"]: f for f in report["findings"]}


def make_run(store_dir: Path) -> str:
    with nbtrack.start_run(name="ok", store=str(store_dir), log_system_metrics=False) as run:
        for i in range(20):
            run.log_metric("loss", 1 / (i + 1))
        run.log_metric("loss", float("nan"))
        run.log_text("weights", "model.txt")
    return run.id


def test_a_healthy_store_passes_every_check(store_dir):
    make_run(store_dir)
    code, report = doctor_json(store_dir)
    assert code == 0 and report["healthy"]
    assert {f["status"] for f in report["findings"]} == {"ok"}
    assert set(by_check(report)) == {
        "integrity",
        "wal",
        "journal",
        "schema",
        "runs",
        "metrics",
        "sources",
        "blobs",
        "tmp files",
    }


def test_doctor_finds_and_repairs_what_is_repairable_and_reports_what_is_lost(store_dir):
    # Given a store with a dead process's run stuck in 'running', a wrong metric summary,
    # a stale temporary blob file and an artifact whose blob was deleted
    run_id = make_run(store_dir)
    script = textwrap.dedent(
        """
        import os, nbtrack
        run = nbtrack.start_run(name="dies", log_system_metrics=False)
        nbtrack.log_metric("x", 1.0)
        run.flush()
        os._exit(0)  # no atexit: the run stays 'running'
        """
    )
    subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "NBTRACK_STORE": str(store_dir)},
        check=True,
    )
    db = sqlite3.connect(store_dir / "nbtrack.db")
    db.execute("UPDATE latest_metrics SET value = 42, count = 3 WHERE run_id = ?", (run_id,))
    db.commit()
    db.close()
    store = open_store(store_dir)
    blob = store.artifacts_of(run_id)[0]["blob_hash"]
    os.remove(store_dir / "blobs" / blob[:2] / blob[2:])
    tmp = store_dir / "blobs" / "ab" / "cdef.0123.tmp"
    tmp.parent.mkdir(exist_ok=True)
    tmp.write_bytes(b"half a blob")
    old = time.time() - 3600
    os.utime(tmp, (old, old))
    # When the doctor looks at it
    code, report = doctor_json(store_dir)
    found = by_check(report)
    # Then each problem is named, and nothing was changed
    assert code == 1 and not report["healthy"]
    assert found["runs"]["status"] == "problem" and "1 run(s)" in found["runs"]["detail"]
    assert found["metrics"]["status"] == "problem" and run_id[:8] in found["metrics"]["detail"]
    assert found["tmp files"]["status"] == "problem"
    assert found["blobs"]["status"] == "lost" and blob in found["blobs"]["detail"]
    assert tmp.exists()
    # When it repairs: the repairable is repaired, the lost stays reported
    code, report = doctor_json(store_dir, "--repair")
    found = by_check(report)
    assert code == 1
    assert [found[c]["status"] for c in ("runs", "metrics", "tmp files", "blobs")] == [
        "repaired",
        "repaired",
        "repaired",
        "lost",
    ]
    assert not tmp.exists()
    summary = store.metric_summary(run_id)["loss"]
    assert (summary["count"], summary["max"], summary["min"]) == (21, 1.0, 1 / 20)
    assert summary["latest"] != summary["latest"]  # NaN, the last point logged
    code, report = doctor_json(store_dir)
    assert [f["check"] for f in report["findings"] if f["status"] != "ok"] == ["blobs"]


def test_a_damaged_database_file_is_reported_not_crashed_on(store_dir):
    make_run(store_dir)
    open_store(store_dir).close()
    db = store_dir / "nbtrack.db"
    data = bytearray(db.read_bytes())
    assert len(data) > 3 * 4096
    data[4096 : 3 * 4096] = os.urandom(2 * 4096)  # pages 2-3 overwritten with noise
    db.write_bytes(bytes(data))
    code, report = doctor_json(store_dir)
    assert code == 1
    assert by_check(report)["integrity"]["status"] == "lost"
    assert "backup" in by_check(report)["integrity"]["detail"]


def test_an_old_store_migrates_in_place_with_a_backup(store_dir, monkeypatch):
    from sqlalchemy import text

    from nbtrack.store import schema, sql

    # Given a store written by this version (1) with a run in it
    run_id = make_run(store_dir)
    before = open_store(store_dir).run_summaries([run_id])[0]
    open_store(store_dir).close()

    # When a newer nbtrack (version 2, one migration adding a column) opens it
    def add_column(conn):
        conn.execute(text("ALTER TABLE runs ADD COLUMN color TEXT DEFAULT 'blue'"))

    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    monkeypatch.setattr(sql, "MIGRATIONS", [*sql.MIGRATIONS, add_column])
    store = sql.Store(str(store_dir))
    # Then it migrated in place, kept every run and left a backup of the old file
    version = store.read(
        lambda c: c.execute(text("SELECT value FROM meta WHERE key='schema_version'")).scalar()
    )
    assert int(version) == schema.SCHEMA_VERSION
    assert store.read(lambda c: c.execute(text("SELECT color FROM runs")).scalar()) == "blue"
    after = store.run_summaries([run_id])[0]
    assert after["metrics"] == before["metrics"] or str(after["metrics"]) == str(before["metrics"])
    backup = store_dir / f"nbtrack.db.v{schema.SCHEMA_VERSION - 1}.bak"
    assert backup.exists()
    old = sqlite3.connect(backup)
    assert old.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
        schema.SCHEMA_VERSION - 1
    )
    old.close()
    store.close()


def test_a_version_1_store_is_migrated_to_the_search_layout_with_its_runs(store_dir):
    """Version 1 kept params, tags and latest metrics in rowid tables, had no run summaries and
    no covering run indexes; opening it rebuilds them in place, backed up, with every value kept."""
    with nbtrack.start_run(
        name="old",
        store=str(store_dir),
        params={"lr": 0.1},
        tags={"team": "a"},
        log_system_metrics=False,
    ) as run:
        run.log_metric("acc", 0.5)
        run.log_metric("acc", 0.9)
    open_store(store_dir).close()
    db = sqlite3.connect(store_dir / "nbtrack.db")
    with db:  # rewrite the file as version 1 laid it out
        for table in ("params", "tags", "latest_metrics"):
            db.execute(f"CREATE TABLE {table}_old AS SELECT * FROM {table}")
            db.execute(f"DROP TABLE {table}")
            db.execute(f"CREATE TABLE {table} AS SELECT * FROM {table}_old")
            db.execute(f"DROP TABLE {table}_old")
        db.execute("DROP INDEX ix_runs_search")
        for index, cols in (
            ("ix_runs_start", "start_time"),
            ("ix_runs_experiment_start", "experiment_id, start_time"),
        ):
            db.execute(f"DROP INDEX {index}")
            db.execute(f"CREATE INDEX {index} ON runs ({cols})")
        db.execute("ALTER TABLE runs DROP COLUMN summary")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.close()
    found = nbtrack.search_runs(
        "params.lr = 0.1 AND metrics.acc > 0.8",
        order_by=["metrics.acc DESC"],
        store=open_store(store_dir),
    )
    assert found["run_id"].tolist() == [run.id]
    assert found["metrics.acc"].tolist() == [0.9] and found["tags.team"].tolist() == ["a"]
    assert (
        nbtrack.get_run(run.id, store=open_store(store_dir))["metric_summary"]["acc"]["min"] == 0.5
    )
    db = sqlite3.connect(store_dir / "nbtrack.db")
    layout = dict(
        db.execute(
            "SELECT name, sql FROM sqlite_master WHERE name IN ('params', 'tags', 'latest_metrics', 'ix_runs_search')"
        )
    )
    assert (
        all("WITHOUT ROWID" in layout[t] for t in ("params", "tags", "latest_metrics"))
        and "ix_runs_search" in layout
    )
    summary = json.loads(db.execute("SELECT summary FROM runs").fetchone()[0])
    assert summary == {"p": {"lr": "0.1"}, "m": {"acc": 0.9}, "t": {"team": "a"}}
    assert (store_dir / "nbtrack.db.v1.bak").exists()
    assert run_cli("doctor", "--store", str(store_dir)).returncode == 0


def test_a_migration_that_fails_leaves_the_old_store_as_it_was(store_dir, monkeypatch):
    from sqlalchemy import text

    from nbtrack.store import schema, sql

    run_id = make_run(store_dir)
    open_store(store_dir).close()

    def broken(conn):
        conn.execute(text("ALTER TABLE runs ADD COLUMN half TEXT"))
        raise RuntimeError("migration bug")

    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    monkeypatch.setattr(sql, "MIGRATIONS", [*sql.MIGRATIONS, broken])
    with pytest.raises(RuntimeError, match="migration bug"):
        sql.Store(str(store_dir))
    monkeypatch.undo()
    store = sql.Store(str(store_dir))  # the old version still opens it, unchanged
    columns = [r[1] for r in store.read(lambda c: c.execute(text("PRAGMA table_info(runs)")).all())]
    assert "half" not in columns
    assert store.run_summaries([run_id])[0]["status"] == "finished"
    code, report = doctor_json(store_dir)
    assert code == 0, report
