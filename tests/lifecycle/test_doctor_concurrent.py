"""``nbtrack doctor --repair`` while real writer processes log metrics (issue #18, finding 3):
repairs read and rewrite ``latest_metrics`` inside one write transaction, so they never
rewrite a summary from a stale read and never trip over a pair that appeared meanwhile."""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

import pytest

from nbtrack.lifecycle.doctor import doctor

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from bench_reliability import start_scripts  # noqa: E402 (the benchmark's writer processes)


@pytest.mark.slow
def test_repair_during_writes_leaves_latest_metrics_equal_to_a_recomputation(tmp_path):
    store = tmp_path / "store"
    procs = start_scripts(4, 8.0, str(store), tmp_path)
    repairs, findings = 0, []
    try:
        while any(p.poll() is None for p, _ in procs):
            if (store / "nbtrack.db").exists():
                report = doctor(store, repair=True)  # a KeyError here failed the test before
                findings += [f for f in report.findings if f.check == "metrics"]
                repairs += 1
            time.sleep(0.05)
    finally:
        for p, _ in procs:
            p.wait(timeout=120)
    assert all(p.returncode == 0 for p, _ in procs), [p.stderr.read() for p, _ in procs]
    assert repairs >= 5
    # nothing was wrong to begin with: a repair that "fixes" a pair rewrote it from a stale read
    assert {f.status for f in findings} == {"ok"}, [f.detail for f in findings if f.status != "ok"]
    conn = sqlite3.connect(store / "nbtrack.db")
    try:
        want = dict(
            ((r, k), n)
            for r, k, n in conn.execute("SELECT run_id, key, count(*) FROM metrics GROUP BY 1, 2")
        )
        have = dict(
            ((r, k), n) for r, k, n in conn.execute("SELECT run_id, key, count FROM latest_metrics")
        )
        last = dict(
            ((r, k), s)
            for r, k, s in conn.execute("SELECT run_id, key, max(step) FROM metrics GROUP BY 1, 2")
        )
        steps = dict(
            ((r, k), s) for r, k, s in conn.execute("SELECT run_id, key, step FROM latest_metrics")
        )
    finally:
        conn.close()
    assert want and have == want and steps == last
    assert doctor(store).healthy
