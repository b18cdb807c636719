"""Team store: the embedded SQLite store against PostgreSQL, in the same run.

    python bench/bench_teams.py [--writers 16] [--points 100000] [--runs 10000]

Starts a throwaway PostgreSQL server on loopback (Debian's postgresql, as the tests do) and
measures on both backends: ``log_metric`` throughput with every point durable (committed)
at the end; search latency over a store of ``--runs`` runs; and ``--writers`` processes
logging ``--points`` points each into one store at once, counting every row afterwards.
Writes the ``## Teams (PostgreSQL)`` section of bench/RESULTS.md.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the throwaway server of the test suite (tests/pg.py)
sys.path.insert(0, str(ROOT / "bench"))

WRITER = """
import json, sys, time
import nbtrack
url, n = sys.argv[1], int(sys.argv[2])
run = nbtrack.start_run(name="writer", experiment="concurrent", store=url, log_system_metrics=False)
t0 = time.time()
for i in range(n):
    run.log_metric("x", float(i))
ok = run.flush(wait=None)  # block until written: the bench measures the store, not exit handling
t1 = time.time()
run.end()
print(json.dumps({"id": run.id, "first": t0, "durable": t1, "flushed": ok}))
"""

QUERIES = [
    ("metrics.acc > 0.9 AND params.model = 'rf'", None),
    ("tags.owner ILIKE 'an%' AND attributes.status = 'FINISHED'", None),
    ("params.lr < 0.005 AND metrics.loss < 0.2", ["metrics.acc DESC"]),
    (None, ["metrics.acc DESC"]),
]


def log_metric_rate(url: str, n: int) -> float:
    """Points per second from the first ``log_metric`` to all of them committed."""
    import nbtrack
    from nbtrack.store import Store

    store = Store(url)
    run = nbtrack.start_run(name="rate", experiment="rate", store=store, log_system_metrics=False)
    t0 = time.perf_counter()
    for i in range(n):
        run.log_metric("loss", 1.0 / (i + 1))
    run.flush()
    elapsed = time.perf_counter() - t0
    run.end()
    assert store.metric_summary(run.id)["loss"]["count"] == n
    store.close()
    return n / elapsed


def fill_runs(url: str, n: int) -> None:
    """``n`` runs with 10 params, 10 latest metrics and 5 tags each (bench/search_data.py)."""
    from search_data import runs
    from sqlalchemy import insert

    from nbtrack.store import Store
    from nbtrack.store import schema as s

    store = Store(url)
    batch: list[Any] = []

    def write(conn: Any) -> None:
        exp = {name: store.experiment_id(conn, name) for name in {r.experiment for r in batch}}
        conn.execute(
            insert(s.runs),
            [
                {
                    "id": r.id,
                    "experiment_id": exp[r.experiment],
                    "name": r.name,
                    "status": r.status,
                    "start_time": r.start,
                    "end_time": r.end,
                    "user": r.user,
                }
                for r in batch
            ],
        )
        conn.execute(
            insert(s.params),
            [{"run_id": r.id, "key": k, "value": v} for r in batch for k, v in r.params.items()],
        )
        conn.execute(
            insert(s.tags),
            [{"run_id": r.id, "key": k, "value": v} for r in batch for k, v in r.tags.items()],
        )
        conn.execute(
            insert(s.latest_metrics),
            [
                {
                    "run_id": r.id,
                    "key": k,
                    "value": last,
                    "step": 99,
                    "timestamp": r.start + 99,
                    "min_value": lo,
                    "max_value": hi,
                    "count": 100,
                }
                for r in batch
                for k, (last, lo, hi) in r.latest.items()
            ],
        )

    for r in runs(n):
        batch.append(r)
        if len(batch) == 1000:
            store.write(write)
            batch = []
    if batch:
        store.write(write)
    if not store.is_sqlite:
        store.engine.dispose()
        with store.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    store.close()


def search_latency(url: str) -> list[tuple[str, float, int]]:
    from nbtrack.query.search import search_run_ids, search_runs
    from nbtrack.store import Store

    store = Store(url)
    out = []
    for text, order in QUERIES:
        search_run_ids(store, text, order_by=order)  # warm
        times, found = [], 0
        for _ in range(5):
            t = time.perf_counter()
            found = len(search_run_ids(store, text, order_by=order)[0])
            times.append(time.perf_counter() - t)
        label = (text or "all runs") + (f", order by {', '.join(order)}" if order else "")
        out.append((label, statistics.median(times) * 1e3, found))
    times = []
    for _ in range(5):
        t = time.perf_counter()
        df = search_runs(
            "params.model = 'rf'", order_by=["metrics.acc DESC"], max_results=100, store=store
        )
        times.append(time.perf_counter() - t)
    out.append(
        (
            "search_runs DataFrame, first page of 100 (params.model = 'rf')",
            statistics.median(times) * 1e3,
            len(df),
        )
    )
    store.close()
    return out


def concurrent_writers(url: str, writers: int, points: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from nbtrack.store import Store
    from nbtrack.store import schema as s

    Store(
        url
    ).close()  # created beforehand: this measures logging, not 16 interpreters creating tables
    t0 = time.time()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(points)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(writers)
    ]
    outs = [p.communicate() for p in procs]
    wall = time.time() - t0
    errors = [
        err for p, (_, err) in zip(procs, outs, strict=True) if p.returncode != 0 or err.strip()
    ]
    done = [json.loads(out) for out, _ in outs if out.strip()]
    errors += [f"run {d['id'][:8]}: flush returned False" for d in done if not d["flushed"]]
    window = max(d["durable"] for d in done) - min(d["first"] for d in done)
    store = Store(url)
    m = s.metrics
    rows = store.read(
        lambda conn: dict(conn.execute(select(m.c.run_id, func.count()).group_by(m.c.run_id)).all())
    )
    store.close()
    expected = {d["id"]: points for d in done}
    return {
        "wall": wall,
        "window": window,
        "total": sum(rows.values()),
        "complete": rows == expected and len(done) == writers,
        "errors": errors[:2],
        "rate": writers * points / window,
    }


def _errors(errors: list[str]) -> str:
    if not errors:
        return "none"
    first = errors[0].strip().splitlines()[-1].split("; records")[0].replace("|", "/")[-90:]
    return f"{len(errors)}: `...{first}`"


def main() -> None:
    from pg import PostgresServer, find_bindir
    from results import machine_line, write_section

    ap = argparse.ArgumentParser()
    ap.add_argument("--writers", type=int, default=16)
    ap.add_argument("--points", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--rate-points", type=int, default=200_000)
    args = ap.parse_args()
    header = machine_line("bench_teams.py")
    bindir = find_bindir()
    if bindir is None:
        sys.exit("PostgreSQL is not installed (apt-get install postgresql)")
    server = PostgresServer(bindir)
    server.start()
    tmp = tempfile.mkdtemp(prefix="nbtrack-bench-teams-")
    os.environ["NBTRACK_BLOBS"] = os.path.join(tmp, "blobs")
    version = subprocess.run(
        [f"{bindir}/postgres", "--version"], capture_output=True, text=True
    ).stdout.strip()
    try:
        urls = {
            "SQLite (embedded)": lambda tag: os.path.join(tmp, tag),
            "PostgreSQL (loopback)": lambda tag: server.create_database(),
        }
        rate, search, conc = {}, {}, {}
        for name, make in urls.items():
            print(f"{name}: log_metric", flush=True)
            rate[name] = log_metric_rate(make("rate"), args.rate_points)
            print(f"{name}: search over {args.runs} runs", flush=True)
            url = make("search")
            fill_runs(url, args.runs)
            search[name] = search_latency(url)
            print(f"{name}: {args.writers} writers x {args.points}", flush=True)
            conc[name] = concurrent_writers(make("writers"), args.writers, args.points)
            print(conc[name], flush=True)
    finally:
        server.stop()
    names = list(urls)
    lines = [
        header
        + f" {version}, on loopback with `fsync=off` (a throwaway test server: durable means committed, "
        "not flushed to disk; SQLite runs with `synchronous=NORMAL` in WAL mode). Other jobs share the machine: "
        "compare the columns, not runs.",
        "",
        f"`log_metric` throughput, one process, {args.rate_points:,} points then `flush()` (every point committed):",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        "| points/s durable | " + " | ".join(f"{rate[n]:,.0f}" for n in names) + " |",
        "",
        f"Search latency over {args.runs:,} runs (10 params, 10 metrics, 5 tags each), median of 5, ms (runs found):",
        "",
        "| query | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for i, (label, _, _) in enumerate(search[names[0]]):
        cells = [f"{search[n][i][1]:.1f} ({search[n][i][2]})" for n in names]
        lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"{args.writers} processes each logging {args.points:,} points into one store at once (background "
        "flusher every 0.5 s, then `flush()`); the window runs from the first point logged to the last one "
        "committed; wall time includes starting the interpreters:",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        "| points/s (all writers) | " + " | ".join(f"{conc[n]['rate']:,.0f}" for n in names) + " |",
        "| window / wall | "
        + " | ".join(f"{conc[n]['window']:.1f} s / {conc[n]['wall']:.1f} s" for n in names)
        + " |",
        "| rows counted afterwards | "
        + " | ".join(f"{conc[n]['total']:,} of {args.writers * args.points:,}" for n in names)
        + " |",
        "| every point arrived | "
        + " | ".join("yes" if conc[n]["complete"] else "**NO**" for n in names)
        + " |",
        "| writers that printed a warning or error | "
        + " | ".join(_errors(conc[n]["errors"]) for n in names)
        + " |",
    ]
    write_section("Teams (PostgreSQL)", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
