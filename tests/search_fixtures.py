"""A small real store for the query and search tests, filled through the Store methods."""

from __future__ import annotations

import datetime as dt
from typing import Any

from nbtrack.store import CellRecord, Store


def ts(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone.utc).timestamp()


def run_id(n: int) -> str:
    return f"{n:02d}" * 16


RUNS: list[dict[str, Any]] = [
    {
        "n": 1,
        "name": "rf-small",
        "experiment": "train",
        "status": "finished",
        "start": "2026-11-23T10:00:00",
        "end": "2026-11-23T10:00:30",
        "user": "anna",
        "session": "s1",
        "end_seq": 2,
        "params": {"model": "rf", "lr": "0.01", "a.b": "dotted"},
        "tags": {"owner": "anna", "stage": "prod"},
        "metrics": {"acc": [0.5, 0.7, 0.91], "loss": [0.5, 0.3, 0.25], "val acc": [0.8]},
    },
    {
        "n": 2,
        "name": "xgb-big",
        "experiment": "train",
        "status": "finished",
        "start": "2026-11-22T09:00:00",
        "end": "2026-11-22T10:00:00",
        "user": "andre",
        "session": "s1",
        "end_seq": 4,
        "parent": run_id(1),
        "params": {"model": "xgb", "lr": "0.1"},
        "tags": {"owner": "andre", "stage": "dev"},
        "metrics": {"acc": [0.95, 0.8], "loss": [0.15, 0.4]},
    },
    {
        "n": 3,
        "name": "rf-eval",
        "experiment": "eval",
        "status": "failed",
        "start": "2026-11-24T12:00:00",
        "end": "2026-11-24T12:00:05",
        "user": "bob",
        "reproduced": True,
        "notebook_path": "nb/eval.ipynb",
        "params": {"model": "rf", "lr": "auto"},
        "tags": {"owner": "bob"},
        "metrics": {"loss": [0.6]},
    },
    {
        "n": 4,
        "name": "deleted",
        "experiment": "train",
        "status": "finished",
        "start": "2026-11-25T00:00:00",
        "end": "2026-11-25T00:01:00",
        "user": "anna",
        "deleted": True,
        "params": {"model": "rf"},
        "tags": {},
        "metrics": {"acc": [0.99]},
    },
    {
        "n": 5,
        "name": "Running one",
        "experiment": "eval",
        "status": "running",
        "start": "2026-11-23T08:00:00",
        "end": None,
        "user": "chen",
        "session": "s2",
        "end_seq": None,
        "reproduced": False,
        "params": {"model": "mlp", "lr": "1e-3"},
        "tags": {"owner": "Anna", "stage": "prod-candidate"},
        "metrics": {"acc": [0.6], "loss": [float("nan")]},
    },
]
CELLS = {
    "s1": [
        ("import pandas as pd", None),
        ("df = pd.read_csv('x.csv')", None),
        ("import xgboost\nmodel = xgboost.XGBClassifier()", None),
        ("raise ValueError('bad')", "ValueError"),
    ],
    "s2": [("import torch", None), ("x = 1 / 0", "ZeroDivisionError")],
}


def fill(store: Store) -> None:
    for sid, cells in CELLS.items():
        store.add_session(
            {
                "id": sid,
                "kind": "kernel",
                "started": ts("2026-11-22T00:00:00"),
                "host": "h",
                "user": "u",
            }
        )
        for seq, (source, error) in enumerate(cells, start=1):
            store.record_cell(
                CellRecord(
                    session_id=sid,
                    seq=seq,
                    source=source,
                    start_time=ts("2026-11-22T00:00:00") + seq,
                    end_time=ts("2026-11-22T00:00:00") + seq + 0.5,
                    status="error" if error else "ok",
                    execution_count=seq,
                    cell_id=f"c{seq}",
                    error_type=error,
                    error_message="boom" if error else None,
                    notebook_path="nb/train.ipynb",
                )
            )
    for r in RUNS:
        rid = run_id(r["n"])
        row = {
            "id": rid,
            "name": r["name"],
            "status": r["status"],
            "start_time": ts(r["start"]),
            "end_time": ts(r["end"]) if r["end"] else None,
            "user": r["user"],
            "session_id": r.get("session"),
            "start_seq": 1 if r.get("session") else None,
            "end_seq": r.get("end_seq"),
            "parent_run_id": r.get("parent"),
            "reproduced": r.get("reproduced"),
            "notebook_path": r.get("notebook_path", "nb/train.ipynb"),
            "deleted_at": ts(r["start"]) + 100 if r.get("deleted") else None,
        }
        store.create_run(row, r["experiment"], r["params"], r["tags"])
        points = [
            (k, v, step, ts(r["start"]) + step, None)
            for k, vs in r["metrics"].items()
            for step, v in enumerate(vs)
        ]
        store.write(
            lambda conn, rid=rid, points=points: store.write_batch(conn, rid, {}, {}, points)
        )


def names(store: Store, ids: list[str]) -> list[str]:
    by_id = {run_id(r["n"]): r["name"] for r in RUNS}
    return [by_id[i] for i in ids]
