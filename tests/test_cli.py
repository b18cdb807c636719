"""The command line as a user runs it: nbtrack run / runs / show against real kernels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).parent.parent / "example_notebooks"


def write_nb(path: Path, *sources: str, tags: dict[int, list[str]] | None = None) -> Path:
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    for i, t in (tags or {}).items():
        cells[i].metadata["tags"] = t
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_run_executes_a_notebook_as_one_run_with_params(tmp_path, store_dir):
    nb = shutil.copy(EXAMPLES / "sklearn_training.ipynb", tmp_path / "train.ipynb")
    res = run_cli("run", str(nb), "-p", "lr=0.05", "-p", "epochs=3", "--name", "quick")
    assert res.returncode == 0, res.stderr
    run_id = res.stdout.strip().splitlines()[-1]
    listed = json.loads(run_cli("runs", "--format", "json").stdout)["runs"]
    outer = next(r for r in listed if r["id"] == run_id)
    assert outer["name"] == "quick" and outer["experiment"] == "train" and outer["status"] == "finished"
    assert outer["params"] == {"epochs": "3", "lr": "0.05"}
    inner = next(r for r in listed if r["name"] == "sgd")
    assert inner["parent_run_id"] == run_id and inner["params"]["lr"] == "0.05"
    assert set(inner["metrics"]) >= {"train_acc", "test_acc"}
    shown = json.loads(run_cli("show", run_id[:6], "--json").stdout)
    sources = [c["source"] for c in shown["cells"]]
    assert sources[0] == "%load_ext nbtrack"
    assert sources[3].startswith("# Parameters injected by nbtrack run") and "lr = 0.05" in sources[3]
    assert all(c["in_run"] for c in shown["cells"])
    assert shown["cells"][0]["cell_id"]  # cells keep their notebook ids
    assert shown["notebook"]["path"] == str(nb)
    assert {"index", "execution_count", "cell_id", "source", "status", "error", "in_run", "state"} <= set(shown["cells"][0])


def test_run_stops_at_the_first_failing_cell_and_exits_non_zero(tmp_path, store_dir):
    nb = write_nb(tmp_path / "bad.ipynb", "a = 1", "raise KeyError('nope')", "b = 2")
    res = run_cli("run", str(nb))
    assert res.returncode == 1
    assert "KeyError" in res.stderr
    run = json.loads(run_cli("show", res.stdout.strip(), "--json").stdout)
    assert run["status"] == "failed"
    assert [c["source"] for c in run["cells"]] == ["a = 1", "raise KeyError('nope')"]

    res = run_cli("run", str(nb), "--allow-errors")
    assert res.returncode == 1
    run = json.loads(run_cli("show", res.stdout.strip(), "--json").stdout)
    assert [c["status"] for c in run["cells"]] == ["ok", "error", "ok"]


def test_runs_lists_as_table_csv_and_json(tmp_path, store_dir):
    nb = write_nb(tmp_path / "tiny.ipynb", "import nbtrack\nnbtrack.log_metric('score', 0.75)")
    assert run_cli("run", str(nb), "--experiment", "tiny").returncode == 0
    table = run_cli("runs").stdout
    assert "tiny" in table and "finished" in table and "0.75" in table
    csv_out = run_cli("runs", "--format", "csv").stdout.splitlines()
    assert csv_out[0].startswith("id,name,experiment,status") and "metrics.score" in csv_out[0]
    data = json.loads(run_cli("runs", "--format", "json", "--experiment", "tiny").stdout)
    (run,) = data["runs"]
    assert set(run) >= {"id", "name", "experiment", "status", "start_time", "end_time", "params", "metrics", "tags"}
    assert run["metrics"] == {"score": 0.75}


def test_bad_arguments_give_clear_errors(tmp_path, store_dir):
    res = run_cli("runs")
    assert res.returncode == 2 and f"no nbtrack store at {store_dir}" in res.stderr
    store_dir.mkdir()
    res = run_cli("show", "zz")
    assert res.returncode == 2 and "not a run id: 'zz'" in res.stderr
    res = run_cli("run", str(tmp_path / "missing.ipynb"))
    assert res.returncode == 2 and "no notebook at" in res.stderr
    res = run_cli("run", str(write_nb(tmp_path / "x.ipynb", "1")), "-p", "not valid=1")
    assert res.returncode == 2 and "not a Python identifier" in res.stderr
    assert "--store" in run_cli("runs", "--help").stdout


def test_a_run_records_the_notebooks_file_hash_and_git_revision(tmp_path, store_dir):
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    nb = write_nb(repo / "study.ipynb", "x = 1")
    git = ["git", "-c", "user.email=a@b.c", "-c", "user.name=a", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    clean = json.loads(run_cli("show", run_cli("run", str(nb)).stdout.strip(), "--json").stdout)["notebook"]
    assert clean["path"] == str(nb) and clean["git_commit"] == head and clean["git_dirty"] is False
    assert clean["hash"]
    (repo / "notes.txt").write_text("uncommitted")
    dirty = json.loads(run_cli("show", run_cli("run", str(nb)).stdout.strip(), "--json").stdout)["notebook"]
    assert dirty["git_commit"] == head and dirty["git_dirty"] is True
