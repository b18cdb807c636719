"""Synthetic stores for bench_search.py: runs with params, metrics, tags and cells.

The same generator fills an nbtrack store (bulk ``executemany`` into the schema, a benchmark
fixture, not the recording path) and an MLflow store (``MlflowClient.log_batch``), so
both hold the same data. Every run has 10 params, 10 metrics of 100 steps and 5 tags; the
latest/min/max of all 100 steps are in ``latest_metrics`` for every run, while the raw
per-step ``metrics`` history is written only for the first ``history_runs`` runs.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

PARAM_KEYS = [
    "model",
    "lr",
    "n_estimators",
    "max_depth",
    "seed",
    "optimizer",
    "batch_size",
    "dropout",
    "features",
    "dataset",
]
METRIC_KEYS = [
    "acc",
    "loss",
    "f1",
    "precision",
    "recall",
    "auc",
    "val_acc",
    "val_loss",
    "rmse",
    "epoch_time",
]
TAG_KEYS = ["owner", "team", "stage", "dataset_version", "note"]
MODELS = ["rf", "xgb", "lr", "svm", "mlp"]
OWNERS = ["anna", "andre", "bob", "chen", "dora", "emil", "fatima", "gus"]
STAGES = ["dev", "staging", "prod", "prod-candidate", "archived"]
SOURCES = [
    "import pandas as pd\ndf = pd.read_csv('data.csv')",
    "from sklearn.ensemble import RandomForestClassifier\nmodel = RandomForestClassifier()",
    "import xgboost as xgb\nmodel = xgb.XGBClassifier()",
    "X_train, X_test, y_train, y_test = split(df)",
    "model.fit(X_train, y_train)",
    "score = model.score(X_test, y_test)",
    "raise ValueError('bad shape')",
    "plt.plot(history)",
]
STEPS = 100
T0 = 1_790_000_000.0  # 2026-09-21


@dataclass
class RunData:
    id: str
    name: str
    experiment: str
    status: str
    start: float
    end: float | None
    user: str
    params: dict[str, str]
    tags: dict[str, str]
    latest: dict[str, tuple[float, float, float]]  # key -> (latest, min, max)
    session: int
    end_seq: int


def runs(n: int, seed: int = 7) -> Iterator[RunData]:
    """``n`` reproducible runs over 5 experiments, started one minute apart (in random order)."""
    rnd = random.Random(seed)
    for i in range(n):
        status = rnd.choices(["finished", "failed", "running", "killed"], [90, 6, 2, 2])[0]
        start = T0 + rnd.random() * n * 60
        latest = {}
        for k in METRIC_KEYS:
            a, b = sorted((rnd.random(), rnd.random()))
            latest[k] = (round(a + (b - a) * rnd.random(), 6), round(a, 6), round(b, 6))
        yield RunData(
            id=uuid.UUID(int=rnd.getrandbits(128)).hex,
            name=f"run-{i}",
            experiment=f"exp{i % 5}",
            status=status,
            start=start,
            end=None if status == "running" else start + 10 + rnd.random() * 3600,
            user=rnd.choice(OWNERS),
            params={
                "model": rnd.choice(MODELS),
                "lr": repr(rnd.choice([0.1, 0.03, 0.01, 0.003, 0.001, 0.0003])),
                "n_estimators": str(rnd.choice([10, 50, 100, 200, 500])),
                "max_depth": str(rnd.randint(2, 20)),
                "seed": str(rnd.randint(0, 10_000)),
                "optimizer": rnd.choice(["adam", "sgd", "rmsprop"]),
                "batch_size": str(rnd.choice([16, 32, 64, 128])),
                "dropout": repr(round(rnd.random() * 0.5, 2)),
                "features": rnd.choice(["all", "top10", "top50", "pca"]),
                "dataset": rnd.choice(["iris", "mnist", "cifar", "adult"]),
            },
            tags={
                "owner": rnd.choice(OWNERS),
                "team": rnd.choice(["core", "vision", "nlp"]),
                "stage": rnd.choice(STAGES),
                "dataset_version": f"v{rnd.randint(1, 9)}",
                "note": rnd.choice(["baseline", "tuned", "ablation", "sweep"]),
            },
            latest=latest,
            session=i // 100,
            end_seq=(i % 100) // 2 + 1,
        )


def history(run: RunData, rnd: random.Random) -> Iterator[tuple[str, float, int, float]]:
    """100 steps per metric between the run's min and max, ending at its latest value."""
    for k, (last, lo, hi) in run.latest.items():
        for step in range(STEPS):
            if step == STEPS - 1:
                v = last
            elif step == 0:
                v = lo
            elif step == 1:
                v = hi
            else:
                v = lo + (hi - lo) * rnd.random()
            yield k, v, step, run.start + step


def build_nbtrack(root: str, n: int, history_runs: int, seed: int = 7) -> None:
    """An nbtrack store at ``root`` with ``n`` runs (see the module docstring)."""
    from nbtrack.store import Store

    Store(root).close()  # creates the schema
    db = sqlite3.connect(os.path.join(root, "nbtrack.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    rnd = random.Random(seed + 1)
    exps: dict[str, int] = {}
    sessions: set[int] = set()
    sources = {str(i): text for i, text in enumerate(SOURCES)}
    db.executemany("INSERT INTO sources(hash, text) VALUES (?, ?)", sources.items())
    run_rows, params, tags, latest, hist, cells = [], [], [], [], [], []
    for i, r in enumerate(runs(n, seed)):
        if r.experiment not in exps:
            exps[r.experiment] = len(exps) + 1
            db.execute(
                "INSERT INTO experiments(id, name, created) VALUES (?, ?, ?)",
                (exps[r.experiment], r.experiment, T0),
            )
        sid = f"s{r.session:08d}"
        if r.session not in sessions:
            sessions.add(r.session)
            db.execute(
                "INSERT INTO sessions(id, kind, started, host, user) VALUES (?, 'kernel', ?, 'bench', ?)",
                (sid, r.start, r.user),
            )
            for seq in range(1, 52):
                src = rnd.choices(range(len(SOURCES)), [10, 5, 3, 10, 10, 10, 1, 5])[0]
                error = "ValueError" if src == 6 else None
                cells.append(
                    (
                        sid,
                        seq,
                        seq,
                        f"c{seq}",
                        str(src),
                        r.start + seq,
                        r.start + seq + 1,
                        "error" if error else "ok",
                        error,
                    )
                )
        run_rows.append(
            (
                r.id,
                exps[r.experiment],
                r.name,
                r.status,
                r.start,
                r.end,
                r.user,
                sid,
                max(1, r.end_seq - 3),
                r.end_seq,
                f"{r.name}.ipynb",
            )
        )
        params += [(r.id, k, v) for k, v in r.params.items()]
        tags += [(r.id, k, v) for k, v in r.tags.items()]
        latest += [
            (r.id, k, v, STEPS - 1, r.start + STEPS - 1, lo, hi, STEPS)
            for k, (v, lo, hi) in r.latest.items()
        ]
        if i < history_runs:
            hist += [(r.id, k, v, st, ts) for k, v, st, ts in history(r, rnd)]
        if len(params) >= 200_000 or len(hist) >= 200_000:
            _flush(db, run_rows, params, tags, latest, hist, cells)
    _flush(db, run_rows, params, tags, latest, hist, cells)
    db.execute("COMMIT")  # no ANALYZE: a store written by nbtrack has no planner statistics either
    db.close()
    from nbtrack.store.summary import fill_summaries

    store = Store(root)  # what an import does after loading runs: their summaries for searches
    store.write(fill_summaries)
    store.close()


def _flush(
    db: sqlite3.Connection,
    run_rows: list,
    params: list,
    tags: list,
    latest: list,
    hist: list,
    cells: list,
) -> None:
    db.executemany(
        "INSERT INTO runs(id, experiment_id, name, status, start_time, end_time, user, session_id, start_seq, end_seq, notebook_path)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        run_rows,
    )
    db.executemany("INSERT INTO params(run_id, key, value) VALUES (?, ?, ?)", params)
    db.executemany("INSERT INTO tags(run_id, key, value) VALUES (?, ?, ?)", tags)
    db.executemany(
        "INSERT INTO latest_metrics(run_id, key, value, step, timestamp, min_value, max_value, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        latest,
    )
    db.executemany(
        "INSERT INTO metrics(run_id, key, value, step, timestamp) VALUES (?, ?, ?, ?, ?)", hist
    )
    db.executemany(
        "INSERT INTO cells(session_id, seq, execution_count, cell_id, source_hash, start_time, end_time, status, error_type)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        cells,
    )
    for rows in (run_rows, params, tags, latest, hist, cells):
        rows.clear()


def build_nbtrack_via_api(root: str, n: int, history_runs: int, seed: int = 7) -> float:
    """The same runs written through ``Store.create_run`` / ``write_batch``; returns seconds taken."""
    from nbtrack.store import Store

    store = Store(root)
    rnd = random.Random(seed + 1)
    t = time.perf_counter()
    for i, r in enumerate(runs(n, seed)):
        row = {
            "id": r.id,
            "name": r.name,
            "status": r.status,
            "start_time": r.start,
            "end_time": r.end,
            "user": r.user,
        }
        store.create_run(row, r.experiment, r.params, r.tags)
        if i < history_runs:
            points = [(k, v, st, ts, None) for k, v, st, ts in history(r, rnd)]
        else:  # min, max and latest as three points reproduce the summary row
            points = [
                (k, v, st, r.start + st, None)
                for k, (last, lo, hi) in r.latest.items()
                for v, st in ((lo, 0), (hi, 1), (last, STEPS - 1))
            ]
        store.write(lambda conn, r=r, points=points: store.write_batch(conn, r.id, {}, {}, points))
    took = time.perf_counter() - t
    store.close()
    return took


def build_mlflow(db_path: str, n: int, history_runs: int, seed: int = 7) -> float:
    """The same runs logged into an MLflow SQLite store with ``log_batch``; returns seconds taken."""
    import logging

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{db_path}")
    rnd = random.Random(seed + 1)
    exps: dict[str, str] = {}
    statuses = {"finished": "FINISHED", "failed": "FAILED", "killed": "KILLED"}
    t = time.perf_counter()
    for i, r in enumerate(runs(n, seed)):
        if r.experiment not in exps:
            exps[r.experiment] = client.create_experiment(r.experiment)
        run = client.create_run(
            exps[r.experiment],
            start_time=int(r.start * 1000),
            run_name=r.name,
            tags={"mlflow.user": r.user},
        )
        rid = run.info.run_id
        if i < history_runs:
            points = list(history(r, rnd))
        else:
            points = [
                (k, v, st, r.start + st)
                for k, (last, lo, hi) in r.latest.items()
                for v, st in ((lo, 0), (hi, 1), (last, STEPS - 1))
            ]
        metrics = [Metric(k, v, int(ts * 1000), st) for k, v, st, ts in points]
        client.log_batch(
            rid,
            metrics=metrics[:1000],
            params=[Param(k, v) for k, v in r.params.items()],
            tags=[RunTag(k, v) for k, v in r.tags.items()],
        )
        if r.status != "running":
            client.set_terminated(rid, statuses[r.status], end_time=int((r.end or r.start) * 1000))
    return time.perf_counter() - t


if __name__ == "__main__":  # quick look: python bench/search_data.py /tmp/x 1000
    import sys

    build_nbtrack(sys.argv[1], int(sys.argv[2]), history_runs=100)
