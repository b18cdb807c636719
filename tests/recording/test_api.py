"""The logging API from plain Python (no kernel), against a real SQLite store."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import nbtrack
from nbtrack.errors import NotFoundError, ValidationError
from nbtrack.query.runs import run_detail
from nbtrack.store import open_store


def test_context_manager_run_records_params_metrics_tags_and_finishes(store_dir):
    with nbtrack.start_run(name="first", experiment="exp", params={"lr": 0.01}) as run:
        for i in range(5):
            nbtrack.log_metric("loss", 1.0 / (i + 1))
        nbtrack.log_metrics({"acc": 0.9, "f1": 0.8}, step=3)
        nbtrack.set_tags({"owner": "ana"})
        nbtrack.log_param("depth", 4)
    store = open_store(store_dir)
    rec = run_detail(store, run.id)
    assert (rec["name"], rec["experiment"], rec["status"]) == ("first", "exp", "finished")
    assert rec["params"] == {"depth": "4", "lr": "0.01"}
    assert rec["metrics"] == {"acc": 0.9, "f1": 0.8, "loss": 0.2}
    assert (
        rec["metric_summary"]["loss"]["max"] == 1.0 and rec["metric_summary"]["loss"]["count"] == 5
    )
    assert [p["step"] for p in store.metric_history(run.id, "loss")] == [0, 1, 2, 3, 4]
    assert rec["tags"] == {"owner": "ana"}
    assert rec["cells"] == []  # no kernel, no cells


def test_exception_inside_the_run_marks_it_failed(store_dir):
    with pytest.raises(RuntimeError):
        with nbtrack.start_run(name="boom") as run:
            raise RuntimeError("x")
    assert open_store(store_dir).run_summaries([run.id])[0]["status"] == "failed"


def test_nan_and_inf_are_legal_metric_values(store_dir):
    with nbtrack.start_run() as run:
        for v in (1.0, math.nan, math.inf, -math.inf, -0.0):
            nbtrack.log_metric("m", v)
    values = [p["value"] for p in open_store(store_dir).metric_history(run.id, "m")]
    assert (
        values[0] == 1.0
        and math.isnan(values[1])
        and values[2] == math.inf
        and values[3] == -math.inf
    )
    assert open_store(store_dir).metric_summary(run.id)["m"]["max"] == math.inf


def test_runs_started_inside_a_run_are_its_children(store_dir):
    with nbtrack.start_run(name="sweep") as parent:
        for lr in (0.1, 0.01):
            with nbtrack.start_run(name=f"lr={lr}", params={"lr": lr}) as child:
                nbtrack.log_metric("acc", lr * 5)
    rows = open_store(store_dir).run_summaries([child.id])
    assert rows[0]["parent_run_id"] == parent.id


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: nbtrack.log_metric("acc", "high"), "metric 'acc' must be a real number, got str"),
        (lambda: nbtrack.log_metric("a'; DROP TABLE runs;--", 1), "has characters"),
        (lambda: nbtrack.log_metric("acc", 1, step=1.5), "step of metric 'acc' must be an integer"),
        (lambda: nbtrack.log_metric("", 1), "metric name must be 1 to 250 characters"),
        (lambda: nbtrack.log_param("p", "x" * 9000), "over the limit of 8,000"),
        (
            lambda: nbtrack.log_metric("../etc/passwd", 1),
            "must not start with '/' or contain a '..' segment",
        ),
        (lambda: nbtrack.set_tag(42, "v"), "tag name must be a string, got int"),
        (lambda: nbtrack.log_artifact("/no/such/file"), "does not exist"),
        (
            lambda: nbtrack.log_text("hi", "../outside.txt"),
            "must be relative and stay inside the run",
        ),
    ],
)
def test_bad_input_gets_a_clear_error_naming_the_problem(store_dir, call, message):
    with nbtrack.start_run():
        with pytest.raises(ValidationError, match=None) as err:
            call()
    assert message in str(err.value)


def test_secret_looking_params_are_redacted(store_dir):
    with nbtrack.start_run(
        params={"api_key": "sk-123", "db": "postgresql://bob:hunter2@db/x"}
    ) as run:
        pass
    params = open_store(store_dir).run_summaries([run.id])[0]["params"]
    assert params == {"api_key": "[redacted]", "db": "postgresql://[redacted]@db/x"}


def test_artifacts_text_dict_and_files_are_stored_once_by_content(store_dir, tmp_path):
    f = tmp_path / "model.txt"
    f.write_text("weights")
    with nbtrack.start_run() as run:
        nbtrack.log_artifact(f)
        nbtrack.log_text("weights", "copy.txt")
        nbtrack.log_dict({"b": 1, "a": [1, 2]}, "config.json")
        h = nbtrack.log_input(f)
    store = open_store(store_dir)
    arts = {a["path"]: a for a in store.artifacts_of(run.id)}
    assert set(arts) == {"model.txt", "copy.txt", "config.json"}
    assert arts["model.txt"]["blob_hash"] == arts["copy.txt"]["blob_hash"]
    assert store.get_blob(arts["config.json"]["blob_hash"]).startswith(b"{")
    assert run_detail(store, run.id)["inputs"][0]["hash"] == h


def test_run_ids_resolve_from_unique_prefixes(store_dir):
    with nbtrack.start_run(run_id="ab" + "0" * 30):
        pass
    with nbtrack.start_run(run_id="ac" + "0" * 30):
        pass
    store = open_store(store_dir)
    assert store.resolve_run_id("ab") == "ab" + "0" * 30
    with pytest.raises(NotFoundError, match="ambiguous"):
        store.resolve_run_id("a")
    with pytest.raises(NotFoundError, match="no run with id 'ff'"):
        store.resolve_run_id("ff")


def test_a_killed_process_leaves_a_killed_run_with_its_points(store_dir):
    script = textwrap.dedent(
        """
        import time, nbtrack
        run = nbtrack.start_run(name="doomed")
        for i in range(50):
            nbtrack.log_metric("x", i)
        print(run.id, flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "NBTRACK_STORE": str(store_dir)},
    )
    run_id = proc.stdout.readline().strip()
    time.sleep(1.5)  # points logged more than a second before the kill must survive
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = open_store(store_dir)
    assert store.detect_killed() == 1
    (row,) = store.run_summaries([run_id])
    assert row["status"] == "killed" and row["end_time"] is not None
    assert len(store.metric_history(run_id, "x")) == 50


def test_a_newer_store_is_refused_and_left_untouched(store_dir):
    from sqlalchemy import update

    from nbtrack.errors import StoreError
    from nbtrack.store import Store, schema

    store = open_store(store_dir)
    store.write(lambda c: c.execute(update(schema.meta).values(value="99")))
    store.close()
    with pytest.raises(StoreError, match="schema version 99, newer than this nbtrack understands"):
        Store(str(store_dir))


def test_system_metrics_are_sampled_while_a_run_is_active_unless_turned_off(store_dir):
    script = textwrap.dedent(
        """
        import time, nbtrack
        with nbtrack.start_run(name="sampled") as a:
            time.sleep(2.5)
        with nbtrack.start_run(name="quiet", log_system_metrics=False) as b:
            time.sleep(1.5)
        print(a.id, b.id)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "NBTRACK_STORE": str(store_dir),
            "NBTRACK_SYSTEM_METRICS_INTERVAL": "0.5",
        },
    )
    sampled, quiet = out.stdout.split()
    store = open_store(store_dir)
    keys = set(store.metric_summary(sampled))
    assert {"system/cpu_percent", "system/memory_percent", "system/memory_used_mb"} <= keys
    assert store.metric_summary(sampled)["system/cpu_percent"]["count"] >= 2
    assert store.metric_summary(quiet) == {}
