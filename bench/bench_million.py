"""A million runs: filtered + ordered search and the sidebar's first page at 1,000,000 runs,
on SQLite and on PostgreSQL, each beside 100,000 runs measured in the same run.

    python bench/bench_million.py            # writes the "## A million runs" section of bench/RESULTS.md
    python bench/bench_million.py --runs 20000 --small 2000 --no-write   # a quick look
    python bench/bench_million.py --backend postgresql --runs 200000 --section "..."   # one backend
    python bench/bench_million.py --pg-build 1000000 --pg-json /tmp/pg-built.json   # load, keep the server
    python bench/bench_million.py --backend postgresql --pg-url URL --pg-size 1000000 --no-write

The runs are bench/search_data.py's (10 params, 10 metrics with a 100-step summary, 5 tags,
a session of 51 cells per 100 runs; the raw per-step history for the first 1,000 runs) and go
in through the store's own import path, :func:`nbtrack.store.transfer.add_rows` (what
``nbtrack import-runs`` uses: INSERT batches on SQLite, ``COPY`` on PostgreSQL, then the run
summaries), 250,000 runs per transaction, in run-id order. SQLite stores are cached under
/tmp/nbtrack-bench-million; PostgreSQL is a throwaway server on loopback (tests/pg.py), loaded
afresh each time, vacuumed at each checkpoint before it is measured (``VACUUM (ANALYZE)``, what
autovacuum does after a bulk insert: index-only scans need the visibility map it sets).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

import search_data as data  # noqa: E402
from results import write_section  # noqa: E402

CACHE = Path(os.environ.get("NBTRACK_BENCH_MILLION_CACHE", "/tmp/nbtrack-bench-million"))
HISTORY_RUNS = 1_000
PER_TRANSACTION = 250_000
FILTER = "metrics.acc > 0.5 AND params.model = 'rf' AND tags.stage LIKE 'prod%'"
ORDER = ["metrics.acc DESC"]


def transfer_rows(
    chunk: list[tuple[int, data.RunData]], rnd: random.Random, sessions: set[int] | None = None
) -> dict[str, list]:
    """The rows of ``chunk`` ((index in the generator, run) pairs) as the import path takes
    them; a session's cells go with the first chunk naming it (``sessions``: those sent)."""
    from nbtrack.store.blobs import content_hash

    hashes = [content_hash(t.encode()) for t in data.SOURCES]
    out: dict[str, list[dict[str, Any]]] = {
        "experiments": [{"name": f"exp{i}", "created": data.T0} for i in range(5)],
        "sources": [{"hash": h, "text": t} for h, t in zip(hashes, data.SOURCES, strict=True)],
        "runs": [],
        "params": [],
        "tags": [],
        "latest_metrics": [],
        "metrics": [],
        "sessions": [],
        "cells": [],
        "cell_state": [],
        "file_events": [],
        "artifacts": [],
        "datasets": [],
    }
    sessions = set() if sessions is None else sessions
    for i, r in chunk:
        sid = f"s{r.session:08d}"
        if r.session not in sessions:
            sessions.add(r.session)
            out["sessions"].append(
                {"id": sid, "kind": "kernel", "started": r.start, "host": "bench", "user": r.user}
            )
            for seq in range(1, 52):
                src = rnd.choices(range(len(data.SOURCES)), [10, 5, 3, 10, 10, 10, 1, 5])[0]
                error = "ValueError" if src == 6 else None
                out["cells"].append(
                    {
                        "session_id": sid,
                        "seq": seq,
                        "execution_count": seq,
                        "cell_id": f"c{seq}",
                        "source_hash": hashes[src],
                        "start_time": r.start + seq,
                        "end_time": r.start + seq + 1,
                        "status": "error" if error else "ok",
                        "error_type": error,
                    }
                )
        out["runs"].append(
            {
                "id": r.id,
                "experiment": r.experiment,
                "name": r.name,
                "status": r.status,
                "start_time": r.start,
                "end_time": r.end,
                "user": r.user,
                "session_id": sid,
                "start_seq": max(1, r.end_seq - 3),
                "end_seq": r.end_seq,
                "notebook_path": f"{r.name}.ipynb",
            }
        )
        out["params"] += [{"run_id": r.id, "key": k, "value": v} for k, v in r.params.items()]
        out["tags"] += [{"run_id": r.id, "key": k, "value": v} for k, v in r.tags.items()]
        out["latest_metrics"] += [
            {
                "run_id": r.id,
                "key": k,
                "value": v,
                "step": data.STEPS - 1,
                "timestamp": r.start + data.STEPS - 1,
                "min_value": lo,
                "max_value": hi,
                "count": data.STEPS,
            }
            for k, (v, lo, hi) in r.latest.items()
        ]
        if i < HISTORY_RUNS:
            out["metrics"] += [
                {"run_id": r.id, "key": k, "value": v, "step": st, "timestamp": ts}
                for k, v, st, ts in data.history(r, rnd)
            ]
    return out


def build(url: str, n: int) -> float:
    """Load ``n`` runs into the store at ``url`` through ``add_rows``; returns seconds taken.
    The runs go in in id order (ids are random): rows keyed by run id then land at the end of
    their B-trees, as a store filled over months has them, instead of rewriting most of a
    table's pages in every transaction."""
    from nbtrack.store import Store
    from nbtrack.store.transfer import add_rows

    store = Store(url)
    if url.startswith("/"):  # the whole store in SQLite's page cache while it loads (4 GB)
        store.write(lambda conn: conn.exec_driver_sql("PRAGMA cache_size=-4000000"))
    rnd = random.Random(8)
    sent: set[int] = set()
    t = time.perf_counter()
    runs = sorted(enumerate(data.runs(n, seed=7)), key=lambda p: p[1].id)
    for first in range(0, n, PER_TRANSACTION):
        add_rows(store, transfer_rows(runs[first : first + PER_TRANSACTION], rnd, sent))
        print(
            f"  {url}: {min(n, first + PER_TRANSACTION):,} runs, {time.perf_counter() - t:.0f} s",
            flush=True,
        )
    took = time.perf_counter() - t
    store.close()
    return took


def pg_checkpoints(checkpoints: list[int], repeat: int, out: Path) -> None:
    """Load one PostgreSQL database run by run up to ``max(checkpoints)``, measuring at each
    checkpoint; the figures go to ``out`` (JSON) as they come, so a cut-short load still tells."""
    from pg import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("no PostgreSQL server found (apt-get install postgresql)")
    from nbtrack.store import Store
    from nbtrack.store.transfer import add_rows

    server = PostgresServer(bindir)
    server.start()
    found: dict[str, Any] = {"version": bindir.split("/")[-2], "sizes": {}}
    try:
        url = server.create_database().replace("postgresql://", "postgresql+psycopg://")
        store = Store(url)
        rnd = random.Random(8)
        t = time.perf_counter()
        chunk: list[tuple[int, data.RunData]] = []
        loaded = 0
        for i, r in enumerate(data.runs(max(checkpoints), seed=7)):
            chunk.append((i, r))
            if len(chunk) == PER_TRANSACTION or loaded + len(chunk) in checkpoints:
                add_rows(store, transfer_rows(chunk, rnd))
                loaded += len(chunk)
                chunk = []
                print(f"  PostgreSQL: {loaded:,} runs, {time.perf_counter() - t:.0f} s", flush=True)
                if loaded in checkpoints:
                    took = time.perf_counter() - t
                    vacuumed = vacuum(server.url(url.rsplit("/", 1)[1]))
                    found["sizes"][loaded] = {
                        "built": took,
                        "vacuum": vacuumed,
                        "results": measure(url, repeat, before=True),
                    }
                    out.write_text(json.dumps(found))
                    t = time.perf_counter() - took  # the load time leaves out the measuring
        store.close()
    finally:
        server.stop()


def pg_build(n: int, out: Path) -> None:
    """Start a PostgreSQL server (tests/pg.py), load ``n`` runs into a new database with
    :func:`build` (``add_rows``, run-id order), ``VACUUM (ANALYZE)`` it, and leave the server
    running; its URL and the load's figures go to ``out`` (JSON), for ``--pg-url`` to measure."""
    from pg import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("no PostgreSQL server found (apt-get install postgresql)")
    server = PostgresServer(bindir)
    server.start()
    url = server.create_database().replace("postgresql://", "postgresql+psycopg://")
    print(f"{url} (server files: {server.dir}; stop it with pg_ctl -D {server.data} stop)")
    cpu = time.process_time()
    took = build(url, n)
    found = {
        "url": url,
        "runs": n,
        "built": took,
        "cpu_loader": time.process_time() - cpu,
        "vacuum": vacuum(server.url(url.rsplit("/", 1)[1])),
        "load_average_at_end": os.getloadavg(),
    }
    out.write_text(json.dumps(found))
    print(json.dumps(found))


def vacuum(url: str) -> float:
    """``VACUUM (ANALYZE)`` of the whole database (outside a transaction); seconds taken."""
    import psycopg

    t = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - t


def compare_load(n: int) -> str:
    """The same ``n`` runs loaded into two fresh PostgreSQL databases on one server, through
    ``add_rows`` as it is (COPY, statement-level summary triggers) and through SQLAlchemy
    ``executemany`` INSERTs with the per-row triggers of schema 4 (the path before), in
    alternation; wall time and CPU seconds of the loading process and of its server backend
    (the machine is shared: CPU time is what the path costs, wall time what it took here)."""
    from pg import PostgresServer, find_bindir
    from sqlalchemy import insert

    from nbtrack.store import Store, dialect, transfer

    def old_bulk_insert(conn: Any, table: Any, rows: Any) -> int:
        n = 0
        for batch in dialect.batches(rows, dialect.CHUNK):
            conn.execute(insert(table), batch)
            n += len(batch)
        return n

    def per_row_triggers(conn: Any) -> None:
        conn.exec_driver_sql(
            "CREATE FUNCTION nbtrack_forget_summary() RETURNS trigger AS $$ BEGIN "
            "IF TG_OP <> 'INSERT' THEN UPDATE runs SET summary = NULL WHERE id = OLD.run_id "
            "AND summary IS NOT NULL; END IF; IF TG_OP <> 'DELETE' THEN UPDATE runs SET "
            "summary = NULL WHERE id = NEW.run_id AND summary IS NOT NULL; END IF; RETURN NULL; "
            "END $$ LANGUAGE plpgsql"
        )
        for table in ("params", "tags", "latest_metrics"):
            for name in ("forget_summary", "forget_summary_update", "forget_summary_delete"):
                conn.exec_driver_sql(f"DROP TRIGGER {name} ON {table}")
            conn.exec_driver_sql(
                f"CREATE TRIGGER forget_summary AFTER INSERT OR UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION nbtrack_forget_summary()"
            )

    def cpu_of(pid: int) -> float:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("no PostgreSQL server found (apt-get install postgresql)")
    server = PostgresServer(bindir)
    server.start()
    runs = list(enumerate(data.runs(n, seed=7)))
    lines = []
    try:
        for path in ("COPY (now)", "executemany, per-row triggers (before)"):
            store = Store(server.create_database())
            if path.startswith("executemany"):
                store.write(per_row_triggers)
            rows = transfer_rows(runs, random.Random(8))
            pid = store.read(lambda conn: conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
            server_cpu, client_cpu = cpu_of(pid), time.process_time()
            t = time.perf_counter()
            saved = transfer.bulk_insert
            if path.startswith("executemany"):
                transfer.bulk_insert = old_bulk_insert  # type: ignore[assignment]
            try:
                transfer.add_rows(store, rows)
            finally:
                transfer.bulk_insert = saved
            wall = time.perf_counter() - t
            server_cpu, client_cpu = cpu_of(pid) - server_cpu, time.process_time() - client_cpu
            lines.append(
                f"| {path} | {wall:.0f} s ({n / wall:,.0f} runs/s) | {client_cpu:.1f} s | "
                f"{server_cpu:.1f} s | {n / (client_cpu + server_cpu):,.0f} runs/s |"
            )
            print(lines[-1], flush=True)
            store.close()
    finally:
        server.stop()
    rows_per_run = 10 + 5 + 10
    return "\n".join(
        [
            f"Loading {n:,} runs ({n * rows_per_run:,} param, tag and latest-metric rows, "
            f"{min(n, HISTORY_RUNS) * 1000:,} metric points, {n // 100 * 51:,} cells) into an empty "
            "PostgreSQL database with `transfer.add_rows`, one transaction, load average "
            f"{os.getloadavg()[0]:.1f} at the end:",
            "",
            "| path | wall | CPU, loading process | CPU, its server backend | runs per CPU second |",
            "|---|---|---|---|---|",
            *lines,
        ]
    )


def sqlite_store(n: int) -> tuple[str, float]:
    root = CACHE / f"sqlite-{n}"
    if not (root / "done").exists():
        import shutil

        shutil.rmtree(root, ignore_errors=True)
        took = build(str(root), n)
        (root / "done").write_text(f"{took:.0f}")
    return str(root), float((root / "done").read_text())


def timings(
    fn: Callable[[], Any], repeat: int, server_cpu: Callable[[], float] = lambda: 0.0
) -> tuple[float, float, float]:
    """(first call, median of the next ``repeat``, median CPU time of those: this process's
    and ``server_cpu``'s, the database server's) in seconds. On a shared machine the CPU
    time is what a query costs, the wall time what it took while others ran."""
    times, cpus = zip(*(once(fn, server_cpu) for _ in range(repeat + 1)), strict=True)
    return times[0], statistics.median(times[1:]), statistics.median(cpus[1:])


def once(fn: Callable[[], Any], server_cpu: Callable[[], float]) -> tuple[float, float]:
    """(wall, CPU) seconds of one call of ``fn``, CPU as in :func:`timings`."""
    c, s = time.process_time(), server_cpu()
    t = time.perf_counter()
    fn()
    wall = time.perf_counter() - t
    return wall, time.process_time() - c + server_cpu() - s


def backend_cpu(store: Any) -> Callable[[], float]:
    """CPU seconds used so far by the PostgreSQL backend of ``store``'s pooled connection
    (one thread: every read takes the same one); 0 on SQLite (in this process)."""
    if store.is_sqlite:
        return lambda: 0.0
    pid = store.read(lambda conn: conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
    stat = Path(f"/proc/{pid}/stat")

    def cpu() -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    return cpu


# the queries (by kind) timed with the filter's odds kept and sampled every call, in turn
ODDS_AB = ("search", "filtered sidebar")


def queries(store: Any) -> list[tuple[str, Callable[[], Any], str]]:
    from nbtrack.query.runs import page_of_runs
    from nbtrack.query.search import search_run_ids

    return [
        (
            f"`search_run_ids`: `{FILTER}` ordered by `metrics.acc DESC`, first 1,000",
            lambda: search_run_ids(store, FILTER, order_by=ORDER, max_results=1000),
            "search",
        ),
        (
            "same filter, default order (start_time DESC), first 1,000",
            lambda: search_run_ids(store, FILTER, max_results=1000),
            "",
        ),
        (
            "`params.model = 'rf' AND tags.owner = 'anna'`, first 1,000",
            lambda: search_run_ids(
                store, "params.model = 'rf' AND tags.owner = 'anna'", max_results=1000
            ),
            "",
        ),
        (
            "sidebar first page: `page_of_runs(max_results=100)` + JSON (what `GET runs?max_results=100` does)",
            lambda: json.dumps(page_of_runs(store, max_results=100), default=str),
            "sidebar",
        ),
        (
            "sidebar first page with that filter",
            lambda: json.dumps(
                page_of_runs(store, filter_string=FILTER, max_results=100), default=str
            ),
            "filtered sidebar",
        ),
        (
            "sidebar first page ordered by `metrics.loss ASC`",
            lambda: json.dumps(
                page_of_runs(store, order_by=["metrics.loss ASC"], max_results=100), default=str
            ),
            "",
        ),
    ]


def measure(url: str, repeat: int, before: bool = False) -> dict[str, tuple[float, ...]]:
    """Each query's timings on the store at ``url``; ``before``: on PostgreSQL, also the
    searches as PostgreSQL plans them itself (the plan before its walks ran as written)."""
    from nbtrack.query import plan
    from nbtrack.store import Store

    store = Store(url)
    out: dict[str, tuple[float, ...]] = {}
    cpu = backend_cpu(store)
    try:
        for label, fn, kind in queries(store):
            if kind not in ODDS_AB:
                out[label] = timings(fn, repeat, cpu)
                continue

            def sampled(fn: Callable[[], Any] = fn) -> Any:
                plan._LEARNED.clear()  # no odds remembered: sampled every call, as before
                return fn()

            # a filtered search: with its odds reused (now) and sampled every call (before),
            # call by call in turn so both see the same caches and load
            now, then = once(sampled, cpu), once(sampled, cpu)  # first calls: nothing learned
            pairs = [(once(fn, cpu), once(sampled, cpu)) for _ in range(repeat)]
            for key, first, runs in (
                (label, now, [a for a, _ in pairs]),
                (f"{label}: *odds sampled every call (before)*", then, [b for _, b in pairs]),
            ):
                out[key] = (
                    first[0],
                    statistics.median(r[0] for r in runs),
                    statistics.median(r[1] for r in runs),
                )
        if before and not store.is_sqlite:
            as_written = plan._as_written
            plan._as_written = lambda conn, run: run()  # type: ignore[assignment]
            try:
                for label, fn, _ in queries(store)[:3]:
                    out[f"{label}: *PostgreSQL's own plan (before)*"] = timings(fn, repeat, cpu)
            finally:
                plan._as_written = as_written
    finally:
        store.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--pg-json",
        type=Path,
        default=CACHE / "pg.json",
        help="PostgreSQL figures: loaded and measured now unless --pg-reuse (then read from here)",
    )
    ap.add_argument("--pg-reuse", action="store_true")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument(
        "--backend",
        choices=["both", "sqlite", "postgresql"],
        default="both",
        help="measure one backend only (postgresql: its figures go to --pg-json as well)",
    )
    ap.add_argument(
        "--pg-steps",
        default="",
        help="PostgreSQL checkpoints, comma-separated (default: --small, 1/4, 1/2 and all of --runs)",
    )
    ap.add_argument("--section", default="A million runs", help="bench/RESULTS.md section to write")
    ap.add_argument(
        "--pg-url",
        help="measure this already loaded PostgreSQL database (with --pg-size) instead of loading one",
    )
    ap.add_argument("--pg-size", type=int, default=0)
    ap.add_argument(
        "--pg-build",
        type=int,
        default=0,
        help="only load this many runs into a PostgreSQL server left running (URL in --pg-json)",
    )
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument(
        "--partial", action="store_true", help="measure a SQLite load cut short at its size"
    )
    ap.add_argument(
        "--compare-load",
        type=int,
        default=0,
        help="only compare PostgreSQL load paths (COPY, executemany) on this many runs",
    )
    args = ap.parse_args()
    if args.pg_build:
        pg_build(args.pg_build, args.pg_json)
        return
    if args.compare_load:
        print(compare_load(args.compare_load))
        return
    started = time.perf_counter()
    load = os.getloadavg()[0]
    sizes = sorted({args.small, args.runs})
    built: dict[tuple[str, int], float] = {}
    vacuumed: dict[int, float] = {}
    results: dict[tuple[str, int], dict[str, tuple[float, ...]]] = {}
    for n in sizes if args.backend != "postgresql" else []:
        # the search benchmark's store holds the same runs (same generator, raw executemany)
        same = Path(f"/tmp/nbtrack-bench-search/nbtrack-{n}")
        partial = CACHE / f"sqlite-{n}"
        if not (partial / "done").exists() and (same / "done").exists():
            url, took = str(same), float((same / "done").read_text())
        elif not (partial / "done").exists() and args.partial and partial.exists():
            from nbtrack.store import Store

            url, took = str(partial), float("nan")  # a load cut short: what it committed
            with_runs = Store(url)
            n = len(with_runs.list_run_ids())
            with_runs.close()
        else:
            url, took = sqlite_store(n)
        built["SQLite", n] = took
        results["SQLite", n] = measure(url, args.repeat)
        print(f"SQLite {n:,}: built in {took:.0f} s", flush=True)
    pg_version = ""
    if args.pg_url:  # re-measure a loaded database, keeping its load figures
        found = json.loads(args.pg_json.read_text()) if args.pg_json.exists() else {"sizes": {}}
        found.setdefault("version", "15")
        entry = found["sizes"].setdefault(str(args.pg_size), {"built": float("nan")})
        entry["results"] = measure(args.pg_url, args.repeat, before=True)
        args.pg_json.write_text(json.dumps(found))
        args.pg_reuse = True
    if not args.no_pg and args.backend != "sqlite":
        if not args.pg_reuse:
            CACHE.mkdir(parents=True, exist_ok=True)
            steps = sorted(
                {int(s) for s in args.pg_steps.split(",")}
                if args.pg_steps
                else {args.small, args.runs // 4, args.runs // 2, args.runs}
            )
            pg_checkpoints(steps, args.repeat, args.pg_json)
        found = json.loads(args.pg_json.read_text())
        pg_version = found["version"]
        for n, got in found["sizes"].items():
            built["PostgreSQL", int(n)] = got["built"]
            vacuumed[int(n)] = got.get("vacuum", float("nan"))
            results["PostgreSQL", int(n)] = {k: tuple(v) for k, v in got["results"].items()}
    text = report(
        args, load, sizes, built, vacuumed, results, pg_version, time.perf_counter() - started
    )
    print(text)
    if not args.no_write:
        write_section(args.section, text)


def report(
    args: argparse.Namespace,
    load: float,
    sizes: list[int],
    built: dict[tuple[str, int], float],
    vacuumed: dict[int, float],
    results: dict[tuple[str, int], dict[str, tuple[float, ...]]],
    pg_version: str,
    wall: float,
) -> str:
    import sqlite3

    lines = [
        f"`python bench/bench_million.py` on {os.cpu_count()} cores ({platform.machine()}), Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}"
        + (
            f", PostgreSQL {pg_version} (tests/pg.py's loopback server: fsync off, 64 MB shared_buffers)"
            if pg_version
            else ""
        )
        + f", {time.strftime('%Y-%m-%d')}, load average {load:.1f} at the start (other helpers' kernels share the machine).",
        "",
        "Runs from bench/search_data.py (10 params, 10 metrics with their 100-step summary, 5 tags each; "
        "51 cells per 100 runs; per-step history for the first 1,000 runs), loaded through the store's "
        f"import path (`transfer.add_rows`: INSERT batches on SQLite, COPY on PostgreSQL; {PER_TRANSACTION:,} "
        "runs per transaction, summaries included). Load times (PostgreSQL: cumulative, in one database, "
        "generator order): "
        + ", ".join(
            f"{b} {n:,} runs {t:.0f} s ({n / t:,.0f} runs/s)"
            if t == t
            else f"{b} {n:,} runs (cached)"
            for (b, n), t in built.items()
        )
        + (
            "; then `VACUUM (ANALYZE)` before measuring: "
            + ", ".join(f"{n:,} runs {v:.0f} s" for n, v in sorted(vacuumed.items()))
            if vacuumed
            else ""
        )
        + ". Each query timed in one process: the first call (cold: a fresh connection, planner "
        f"statistics and page cache as the load left them) and the median of the next {args.repeat}. "
        "The sidebar rows are the work of the server's `GET /nbtrack/api/runs?max_results=100` "
        "(`page_of_runs`, the sidebar's page size) and its JSON, without HTTP.",
        "",
    ]
    kinds = {label: kind for label, _, kind in queries(None)}
    targets = {
        "search": {"SQLite": "50 ms", "PostgreSQL": "100 ms"},
        "sidebar": {"SQLite": "100 ms", "PostgreSQL": "100 ms"},
    }
    for backend in ("SQLite", "PostgreSQL"):
        ns = sorted(n for b, n in results if b == backend)
        if not ns:
            continue
        lines += [
            f"**{backend}** (first call / median of {args.repeat}, wall; in brackets the median's CPU "
            "time, this process's plus the database server's, where measured):",
            "",
            "| query | " + " | ".join(f"{n:,} runs" for n in ns) + " | target at 1,000,000 runs |",
            "|---" * (len(ns) + 1) + "|---|",
        ]
        labels = list(dict.fromkeys(k for n in ns for k in results[backend, n]))
        for label in labels:
            cells = [cell(results[backend, n].get(label)) for n in ns]
            target = targets.get(kinds.get(label, ""), {}).get(backend, "")
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
        lines.append("")
    lines += ["", f"Benchmark wall time {wall:.0f} s."]
    return "\n".join(lines)


def cell(got: Any) -> str:
    if not got:
        return ""
    text = f"{got[0] * 1000:.0f} / {got[1] * 1000:.0f} ms"
    return text + (f" ({got[2] * 1000:.0f} ms)" if len(got) > 2 else "")


if __name__ == "__main__":
    main()
