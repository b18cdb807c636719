"""Load: many processes writing into one embedded store at once; nothing lost, nothing doubled.

``python bench/bench_reliability.py`` runs 14 script processes (the logging API: runs, params,
step metrics, artifacts) and 2 real kernels (cells, ``%%track`` runs) for 60 seconds against
one SQLite store, then counts every point, cell and artifact in the store against what each
writer says it logged, and reports the time nbtrack adds to each kernel cell under that load
(its hook's wall time, and the round trip of plain cells against a kernel without nbtrack
running the same cells at the same time).
Figures go to the "Reliability under load" section of bench/RESULTS.md.
``tests/store/test_load.py`` runs the same for a few seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_core import TIME_HOOK

POINTS_PER_RUN = 100  # of each of two metrics

SCRIPT_WORKER = """
import json, sys, time
import nbtrack
worker, seconds, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
runs, artifacts, i = {}, 0, 0
deadline = time.time() + seconds
while time.time() < deadline:
    with nbtrack.start_run(name=f"w{worker}-{i}", experiment="load", params={"worker": worker, "i": i},
                           log_system_metrics=False) as run:
        for step in range(%(points)d):
            run.log_metric("loss", 1 / (step + 1))
            run.log_metric("acc", step / %(points)d)
            if step %% 25 == 0:
                run.flush()  # several transactions per run, interleaved with the other writers
        if i %% 5 == 0:
            run.log_text(f"{worker}-{i} " * 50, "notes.txt")
            artifacts += 1
    runs[run.id] = %(points)d
    i += 1
json.dump({"runs": runs, "artifacts": artifacts}, open(out, "w"))
""" % {"points": POINTS_PER_RUN}  # noqa: UP031 (the worker source holds f-strings)


def start_scripts(
    n: int, seconds: float, store: str, work: Path
) -> list[tuple[subprocess.Popen[str], Path]]:
    procs = []
    for w in range(n):
        out = work / f"script-{w}.json"
        p = subprocess.Popen(
            [sys.executable, "-c", SCRIPT_WORKER, str(w), str(seconds), str(out)],
            env={**os.environ, "NBTRACK_STORE": store},
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append((p, out))
    return procs


def plain_cell(cells: int) -> str:
    return f"x{cells % 7} = list(range({cells}))"


def run_plain_kernel(seconds: float, work: Path) -> list[float]:
    """Client-side round trips of the same plain cells in a kernel without nbtrack, under the
    same load: the baseline of what nbtrack adds."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from conftest import Kernel

    k = Kernel(work, {})
    try:
        trips, cells = [], 0
        deadline = time.time() + seconds
        while time.time() < deadline:
            t = time.perf_counter()
            assert k.run(plain_cell(cells))["status"] == "ok"
            trips.append(time.perf_counter() - t)
            cells += 1
        return trips
    finally:
        k.shutdown()


def run_kernel(seconds: float, store: str, work: Path, index: int) -> dict[str, Any]:
    """Cells for ``seconds`` in a real kernel; every fifth a ``%%track`` run with 50 points."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from conftest import Kernel

    k = Kernel(work, {"NBTRACK_STORE": store})
    try:
        warnings = 0
        for code in ("%load_ext nbtrack", TIME_HOOK):
            warnings += k.run(code)["stderr"].count("NbtrackWarning")
        cells = runs = 0
        trips = []  # client-side round trips of the plain cells
        deadline = time.time() + seconds
        while time.time() < deadline:
            plain = cells % 5 != 0
            if not plain:
                code = (
                    f"%%track --name k{index}-{runs} --experiment load-kernels --no-system-metrics\n"
                    "for s in range(50):\n    nbtrack.log_metric('score', s)"
                )
                runs += 1
            else:
                code = plain_cell(cells)
            t = time.perf_counter()
            out = k.run(code)
            if plain:
                trips.append(time.perf_counter() - t)
            assert out["status"] == "ok", out
            warnings += out["stderr"].count("NbtrackWarning")
            cells += 1
        out = k.run(
            "import json, nbtrack.recording.recorder\nprint(json.dumps({'times': _post_t, 'session': nbtrack.recording.recorder._recorder.session.id}))"
        )
        info = json.loads(out["stdout"])
        # the cells above plus the two set-up cells and this one (recorded by its own hook run)
        return {
            "cells": cells + 3,
            "runs": runs,
            "times": info["times"][:-1],
            "session": info["session"],
            "warnings": warnings,
            "trips": trips,
        }
    finally:
        k.shutdown()


def verify(
    store_dir: str, scripts: list[dict[str, Any]], kernels: list[dict[str, Any]]
) -> dict[str, Any]:
    """Count everything in the store against what the writers logged."""
    import sqlite3

    db = sqlite3.connect(os.path.join(store_dir, "nbtrack.db"))
    try:
        problems = []
        expected_points = 0
        per_run = {
            (rid, key): (n, distinct)
            for rid, key, n, distinct in db.execute(
                "SELECT run_id, key, COUNT(*), COUNT(DISTINCT step) FROM metrics GROUP BY run_id, key"
            )
        }
        summary = {
            (rid, key): n
            for rid, key, n in db.execute("SELECT run_id, key, count FROM latest_metrics")
        }
        artifacts = dict(
            db.execute("SELECT run_id, COUNT(*) FROM artifacts GROUP BY run_id").fetchall()
        )
        status = dict(db.execute("SELECT id, status FROM runs").fetchall())
        for s in scripts:
            for rid, points in s["runs"].items():
                for key in ("loss", "acc"):
                    expected_points += points
                    n, distinct = per_run.get((rid, key), (0, 0))
                    if n != points or distinct != points or summary.get((rid, key)) != points:
                        problems.append(
                            f"run {rid[:8]} {key}: {n} points ({distinct} distinct steps, summary {summary.get((rid, key))}), expected {points}"
                        )
                if status.get(rid) != "finished":
                    problems.append(f"run {rid[:8]} is {status.get(rid)}")
            got = sum(artifacts.get(rid, 0) for rid in s["runs"])
            if got != s["artifacts"]:
                problems.append(f"artifacts: {got} stored, {s['artifacts']} logged")
        cells = 0
        for k in kernels:
            n, distinct = db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT seq) FROM cells WHERE session_id = ?",
                (k["session"],),
            ).fetchone()
            cells += n
            if n != k["cells"] or distinct != n:
                problems.append(
                    f"kernel session {k['session'][:8]}: {n} cells stored ({distinct} distinct), {k['cells']} executed"
                )
            rows = db.execute(
                "SELECT r.id, COUNT(m.step), COUNT(DISTINCT m.step) FROM runs r LEFT JOIN metrics m ON m.run_id = r.id AND m.key = 'score' "
                "WHERE r.session_id = ? GROUP BY r.id",
                (k["session"],),
            ).fetchall()
            if len(rows) != k["runs"] or any(n != 50 or d != 50 for _, n, d in rows):
                problems.append(
                    f"kernel session {k['session'][:8]}: {len(rows)} runs, points {[n for _, n, _ in rows][:5]}..."
                )
            expected_points += 50 * k["runs"]
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        if integrity != "ok":
            problems.append(f"integrity_check: {integrity}")
        total = db.execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
        if total != expected_points:
            problems.append(f"{total} metric points stored, {expected_points} logged")
        return {
            "problems": problems,
            "points": total,
            "expected_points": expected_points,
            "cells": cells,
            "runs": len(status),
            "artifacts": sum(artifacts.values()),
        }
    finally:
        db.close()


def load_test(seconds: float, n_scripts: int, n_kernels: int, work: Path) -> dict[str, Any]:
    """Run the writers concurrently into one store under ``work`` and verify the result."""
    import threading

    store = str(work / "store")
    from nbtrack.store import open_store

    open_store(store).close()  # created once, before the writers race to create it
    started = time.perf_counter()
    procs = start_scripts(n_scripts, seconds, store, work)
    kernels: list[dict[str, Any]] = [{} for _ in range(n_kernels)]
    errors: list[BaseException] = []

    def drive(i: int) -> None:
        try:
            kernels[i] = run_kernel(seconds, store, work, i)
        except BaseException as exc:  # reported below
            errors.append(exc)

    plain: list[float] = []

    def drive_plain() -> None:
        try:
            plain.extend(run_plain_kernel(seconds, work))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=drive, args=(i,)) for i in range(n_kernels)]
    threads.append(threading.Thread(target=drive_plain))
    for t in threads:
        t.start()
    scripts, script_warnings = [], 0
    for p, out in procs:
        _, err = p.communicate(timeout=seconds + 300)
        script_warnings += err.count("NbtrackWarning")
        if p.returncode != 0:
            raise RuntimeError(f"a writer failed: {err[-2000:]}")
        scripts.append(json.loads(out.read_text()))
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    elapsed = time.perf_counter() - started
    result = verify(store, scripts, kernels)
    times = sorted(t for k in kernels for t in k["times"])
    trips = [t for k in kernels for t in k["trips"]]
    result.update(
        plain_trip_median=statistics.median(plain) if plain else None,
        tracked_trip_median=statistics.median(trips) if trips else None,
        seconds=elapsed,
        writers=n_scripts + n_kernels,
        scripts=n_scripts,
        kernels=n_kernels,
        warnings=script_warnings + sum(k["warnings"] for k in kernels),
        cell_overhead_median=statistics.median(times) if times else None,
        cell_overhead_p95=times[int(len(times) * 0.95)] if times else None,
        cell_overhead_max=times[-1] if times else None,
        kernel_cells=sum(k["cells"] for k in kernels),
    )
    return result


LOCKER = """
import select, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('lock-test', '1')")
print("locked", flush=True)
select.select([sys.stdin], [], [], float(sys.argv[2]))  # held that long, or until stdin closes
conn.execute("ROLLBACK")
"""


def lock_store(db_path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the SQLite file with ``BEGIN EXCLUSIVE`` for ``seconds``, or
    until ``release(proc)``; returns once the lock is held."""
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db_path), str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=30)


def lock_stall(work: Path) -> dict[str, list[float]]:
    """Wall time of cells (client side) with the store free, then held by another process."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from conftest import Kernel

    store = work / "lock-store"
    k = Kernel(work, {"NBTRACK_STORE": str(store)})
    try:
        k.run("%load_ext nbtrack")
        k.run("import nbtrack.recording.recorder as _k\n_k._recorder.session.environment()")

        def timed(n: int) -> list[float]:
            out = []
            for i in range(n):
                t = time.perf_counter()
                k.run(f"v = {i}")
                out.append(time.perf_counter() - t)
            return out

        free = timed(5)
        locker = lock_store(store / "nbtrack.db", 10)
        held = timed(5)
        locker.wait()
        return {"free": free, "held": held}
    finally:
        k.shutdown()


LOG_CELL = (
    "%%track --name outage-bench\nfor i in range(200_000):\n    nbtrack.log_metric('loss', i)"
)


def outage_cells(work: Path, rounds: int = 5) -> dict[str, list[float]]:
    """Wall time (client side) of a ``%%track`` cell logging 200,000 points: on a healthy
    store, on one another process holds with ``BEGIN EXCLUSIVE``, and on a full disk (a tmpfs
    filled to the last byte; needs root). One warm-up cell per condition, which in the locked
    store absorbs the first bounded wait (``NBTRACK_WRITE_WAIT``)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from conftest import Kernel

    out: dict[str, list[float]] = {"healthy": [], "locked": [], "full": []}

    def timed(k: Any, key: str) -> None:
        k.run(LOG_CELL)  # warm-up
        for _ in range(rounds):
            t = time.perf_counter()
            assert k.run(LOG_CELL)["status"] == "ok"
            out[key].append(time.perf_counter() - t)

    def start(store: Path) -> Any:
        k = Kernel(work, {"NBTRACK_STORE": str(store), "NBTRACK_OUTAGE_GRACE": "600"})
        k.run("%load_ext nbtrack")
        k.run("import nbtrack.recording.recorder as _k\n_k._recorder.session.environment()")
        return k

    k = start(work / "outage-healthy")
    try:
        timed(k, "healthy")
    finally:
        k.shutdown()
    store = work / "outage-locked"
    k = start(store)
    try:
        locker = lock_store(store / "nbtrack.db", 600)
        timed(k, "locked")
        release(locker)
    finally:
        k.shutdown()
    mnt = work / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)]).returncode:
        return out
    try:
        k = start(mnt / "store")
        try:
            fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT)
            for chunk in (65536, 4096, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * chunk)
                except OSError:
                    pass
            os.close(fd)
            timed(k, "full")
        finally:
            k.shutdown()
    finally:
        subprocess.run(["umount", "-l", str(mnt)])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--scripts", type=int, default=14)
    parser.add_argument("--kernels", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="do not update bench/RESULTS.md")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from results import machine_line, write_section

    header = machine_line("bench_reliability.py")
    with tempfile.TemporaryDirectory(prefix="nbtrack-load-") as tmp:
        r = load_test(args.seconds, args.scripts, args.kernels, Path(tmp))
        stall = lock_stall(Path(tmp))
        outage = outage_cells(Path(tmp))
    print(json.dumps(r, indent=2))
    print(json.dumps(outage, indent=2))
    print(json.dumps(stall, indent=2))
    ms = lambda v: f"{v * 1e3:.1f} ms" if v is not None else "-"  # noqa: E731
    body = f"""{header}

{r["writers"]} processes ({r["scripts"]} scripts using the logging API, {r["kernels"]} real kernels running cells and `%%track` runs) wrote into one embedded SQLite store for {r["seconds"]:.0f} s.

| | |
|---|---|
| metric points stored / logged | {r["points"]:,} / {r["expected_points"]:,} |
| runs, artifacts, kernel cells | {r["runs"]:,}, {r["artifacts"]:,}, {r["cells"]:,} |
| lost or duplicated points, cells, artifacts | {len(r["problems"])} problems{": " + "; ".join(r["problems"][:3]) if r["problems"] else ""} |
| nbtrack warnings | {r["warnings"]} |
| time nbtrack adds per kernel cell under this load (median / p95 / max) | {ms(r["cell_overhead_median"])} / {ms(r["cell_overhead_p95"])} / {ms(r["cell_overhead_max"])} |
| round trip of a plain cell under this load, median: without nbtrack (a third kernel) / with it | {ms(r["plain_trip_median"])} / {ms(r["tracked_trip_median"])} (added: {ms(r["tracked_trip_median"] - r["plain_trip_median"])}) |

Cells while another process holds the SQLite file with `BEGIN EXCLUSIVE` (wall time per trivial cell, client side, one kernel, otherwise idle machine):

| store | cell times |
|---|---|
| free | {", ".join(ms(v) for v in stall["free"])} |
| locked | {", ".join(ms(v) for v in stall["held"])} |

A `%%track` cell logging 200,000 points (wall time, client side, median of 5 after a warm-up cell; the machine otherwise idle):

| store | median | cells | vs healthy |
|---|---|---|---|
{outage_rows(outage)}
"""
    if not args.no_write:
        write_section("Reliability under load", body)
    print(body)
    sys.exit(1 if r["problems"] else 0)


def outage_rows(outage: dict[str, list[float]]) -> str:
    base = statistics.median(outage["healthy"])
    rows = []
    for key, label in (
        ("healthy", "healthy"),
        ("locked", "locked by another process (`BEGIN EXCLUSIVE`)"),
        ("full", "full disk (tmpfs filled; journal in the per-user state folder)"),
    ):
        if outage[key]:
            med = statistics.median(outage[key])
            cells = ", ".join(f"{v:.2f} s" for v in outage[key])
            rows.append(f"| {label} | {med:.2f} s | {cells} | {med / base:.2f}x |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
