"""Search benchmark: 100,000 runs in nbtrack, then nbtrack vs MLflow at 5,000 runs.

    python bench/bench_search.py            # writes the "## Search" section of bench/RESULTS.md

Generated stores are cached under /tmp/nbtrack-bench-search (delete it to rebuild).
Every run has 10 params, 10 metrics of 100 steps and 5 tags; see bench/search_data.py for
what is inserted in full and what only as summaries.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import search_data as data  # noqa: E402

CACHE = Path(os.environ.get("NBTRACK_BENCH_CACHE", "/tmp/nbtrack-bench-search"))
BIG, BIG_HISTORY = 100_000, 1_000
SMALL = int(os.environ.get("NBTRACK_BENCH_SMALL", "5000"))  # MLflow loads ~0.1 s a run
SMALL_HISTORY = 50
FILTER = "metrics.acc > 0.5 AND params.model = 'rf' AND tags.stage LIKE 'prod%'"
ORDER = ["metrics.acc DESC"]


from results import write_section  # noqa: E402


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, float, Any]:
    """Best wall and CPU seconds over ``repeat`` calls, and the last result."""
    best_wall = best_cpu = float("inf")
    result = None
    for _ in range(repeat):
        result = None  # freeing the last result is not part of the call
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        best_wall = min(best_wall, time.perf_counter() - w)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best_wall, best_cpu, result


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def calibration() -> float:
    c = time.process_time()
    sum(range(10_000_000))
    return time.process_time() - c


def big_store() -> str:
    root = CACHE / f"nbtrack-{BIG}"
    if not (root / "done").exists():
        import shutil

        shutil.rmtree(root, ignore_errors=True)
        t = time.perf_counter()
        data.build_nbtrack(str(root), BIG, BIG_HISTORY)
        (root / "done").write_text(f"{time.perf_counter() - t:.0f}")
    return str(root)


def small_stores() -> tuple[str, str, float, float]:
    nb, ml = CACHE / f"nbtrack-{SMALL}", CACHE / f"mlflow-{SMALL}.db"
    if not (nb / "done").exists():
        import shutil

        shutil.rmtree(nb, ignore_errors=True)
        took = data.build_nbtrack_via_api(str(nb), SMALL, SMALL_HISTORY)
        (nb / "done").write_text(f"{took:.1f}")
    done = Path(str(ml) + ".done")
    if not done.exists():
        ml.unlink(missing_ok=True)
        took = data.build_mlflow(str(ml), SMALL, SMALL_HISTORY)
        done.write_text(f"{took:.1f}")
    return str(nb), str(ml), float((nb / "done").read_text()), float(done.read_text())


def main() -> None:
    from nbtrack.query.search import search_run_ids, search_runs
    from nbtrack.store import Store

    lines: list[str] = []
    out = lines.append
    load = os.getloadavg()[0]
    out(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load:.1f} at start (other work shares the machine). Calibration: `sum(range(10**7))` "
        f"takes {calibration():.2f} s CPU here (about 0.15-0.2 s on a current laptop)."
    )
    out("")
    t = time.perf_counter()
    root = big_store()
    built = (Path(root) / "done").read_text()
    store = Store(root)
    out(f"### {BIG:,} runs (10 params, 10 metrics x 100 steps, 5 tags per run)")
    out("")
    out(
        f"Store built in {built} s with bulk `executemany` (cached in {CACHE}). `latest_metrics` holds the "
        f"summary of all 100 steps (latest, min, max, count) for every run; the raw per-step `metrics` history is "
        f"inserted for the first {BIG_HISTORY:,} runs only ({BIG_HISTORY * 1000:,} rows, not 100M): searches "
        "never read it."
    )
    out("")
    out("| measurement | wall (best of 3) | CPU | target |")
    out("| --- | --- | --- | --- |")
    w, c, (ids, _) = timed(lambda: search_run_ids(store, FILTER, order_by=ORDER, max_results=1000))
    out(
        f"| `search_run_ids`: `{FILTER}` ordered by `metrics.acc DESC`, first 1,000 of {len(search_run_ids(store, FILTER)[0]):,} | {ms(w)} | {ms(c)} | 50 ms |"
    )
    w, c, _ = timed(lambda: search_run_ids(store, FILTER, max_results=1000))
    out(f"| same filter, default order (start_time DESC), first 1,000 | {ms(w)} | {ms(c)} | |")
    w, c, _ = timed(
        lambda: search_run_ids(
            store, "params.model = 'rf' AND tags.owner = 'anna'", max_results=1000
        )
    )
    out(f"| `params.model = 'rf' AND tags.owner = 'anna'`, first 1,000 | {ms(w)} | {ms(c)} | |")
    w, c, _ = timed(lambda: search_runs(FILTER, order_by=ORDER, max_results=1000, store=store))
    out(f"| `search_runs` DataFrame of the first 1,000 (filtered, ordered) | {ms(w)} | {ms(c)} | |")
    for order in (
        "metrics.acc DESC",
        "MIN(metrics.loss)",
        "params.lr",
    ):  # the sidebar's and table's sorts
        w, c, _ = timed(
            lambda order=order: search_run_ids(store, None, order_by=[order], max_results=100)
        )
        out(f"| every run ordered by `{order}`, first 100 | {ms(w)} | {ms(c)} | |")
    for text in ("metrics.loss < 0.2", "MIN(metrics.loss) < 0.2", "MAX(metrics.loss) > 0.9"):
        w, c, (ids, _) = timed(lambda text=text: search_run_ids(store, text))
        out(
            f"| all ids matching `{text}` ({len(ids):,} runs) | {ms(w)} | {ms(c)} | MIN/MAX ~ LATEST |"
        )
    w, c, _ = timed(
        lambda: search_run_ids(store, "cells.source LIKE '%xgboost%'", max_results=1000)
    )
    out(f"| `cells.source LIKE '%xgboost%'`, first 1,000 | {ms(w)} | {ms(c)} | |")
    w, c, df = timed(lambda: search_runs(store=store), repeat=2)
    out(
        f"| `search_runs()` of all {len(df):,} runs into a DataFrame ({df.shape[1]} columns) | {w:.1f} s | {c:.1f} s | 2 s |"
    )
    store.close()
    out("")

    nb_root, ml_db, nb_load, ml_load = small_stores()
    out(f"### nbtrack vs MLflow {_mlflow_version()} at {SMALL:,} runs")
    out("")
    out(
        f"Same runs in both (same generator): params, tags and metrics; full 100-step history for the first "
        f"{SMALL_HISTORY} runs, and min/max/latest as three points for the others (MLflow's `log_batch` at 100 "
        f"steps costs ~0.3 s a run here, 25 minutes for 5,000). Loading took {nb_load:.0f} s into nbtrack "
        f"(`Store.create_run` + `write_batch`, one transaction each) and {ml_load:.0f} s into MLflow "
        "(`MlflowClient` on `sqlite:///`, `create_run` + `log_batch` + `set_terminated`)."
    )
    out("")
    out(
        "| search (filter above, `metrics.acc DESC`, max 1,000) | nbtrack | MLflow | MLflow / nbtrack |"
    )
    out("| --- | --- | --- | --- |")
    for label, nb_fn, ml_fn in _comparisons(nb_root, ml_db):
        nw, _, nres = timed(nb_fn)
        mw, _, mres = timed(ml_fn)
        out(f"| {label} ({nres} / {mres} runs) | {ms(nw)} | {ms(mw)} | {mw / nw:.1f}x |")
    out("")
    out(f"Benchmark wall time {time.perf_counter() - t:.0f} s (stores cached).")
    if os.environ.get("NBTRACK_BENCH_NOTE"):
        out("")
        out(os.environ["NBTRACK_BENCH_NOTE"])
    write_section("Search", "Measured by `python bench/bench_search.py`.\n\n" + "\n".join(lines))
    print("\n".join(lines))


def _mlflow_version() -> str:
    import mlflow

    return mlflow.__version__


def _comparisons(
    nb_root: str, ml_db: str
) -> list[tuple[str, Callable[[], int], Callable[[], int]]]:
    import logging

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    import mlflow
    from mlflow.tracking import MlflowClient

    from nbtrack.query.search import search_run_ids, search_runs
    from nbtrack.store import Store

    store = Store(nb_root)
    uri = f"sqlite:///{ml_db}"
    client = MlflowClient(tracking_uri=uri)
    mlflow.set_tracking_uri(uri)
    exp_ids = [e.experiment_id for e in client.search_experiments()]
    return [
        (
            "ids / Run objects",
            lambda: len(search_run_ids(store, FILTER, order_by=ORDER, max_results=1000)[0]),
            lambda: len(client.search_runs(exp_ids, FILTER, order_by=ORDER, max_results=1000)),
        ),
        (
            "pandas DataFrame",
            lambda: len(search_runs(FILTER, order_by=ORDER, max_results=1000, store=store)),
            lambda: len(mlflow.search_runs(exp_ids, FILTER, order_by=ORDER, max_results=1000)),
        ),
        (
            "MIN(metrics.loss) < 0.2 (nbtrack) vs a metrics.loss < 0.2 search (MLflow has no MIN)",
            lambda: len(search_run_ids(store, "MIN(metrics.loss) < 0.2", max_results=1000)[0]),
            lambda: len(client.search_runs(exp_ids, "metrics.loss < 0.2", max_results=1000)),
        ),
    ]


if __name__ == "__main__":
    main()
