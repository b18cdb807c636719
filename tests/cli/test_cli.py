"""The command line as a user runs it: nbtrack run / runs / show / export, against real kernels
(slow) or a real store through the CLI's ``main`` (fast)."""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

import nbtrack
from nbtrack.cli.main import main
from nbtrack.store import Store
from tests.conftest import run_cli
from tests.lifecycle.test_manage import make_run

EXAMPLES = Path(__file__).resolve().parents[2] / "example_notebooks"


def write_nb(path: Path, *sources: str, tags: dict[int, list[str]] | None = None) -> Path:
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    for i, t in (tags or {}).items():
        cells[i].metadata["tags"] = t
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


@pytest.mark.slow
def test_the_demo_runs_every_example_notebook_without_a_failed_cell(tmp_path, store_dir):
    # What scripts/demo does on a newcomer's machine: nbtrack run each example notebook
    examples = shutil.copytree(EXAMPLES, tmp_path / "examples")
    failed = {}
    for nb in sorted(examples.glob("*.ipynb")):
        res = run_cli("run", nb.name, cwd=examples)
        if res.returncode != 0 or "failed" in res.stderr:
            failed[nb.name] = res.stderr[-500:]
    assert failed == {}
    listed = json.loads(run_cli("runs", "--format", "json").stdout)["runs"]
    assert {r["status"] for r in listed} == {"finished"}


@pytest.mark.slow
def test_run_executes_a_notebook_as_one_run_with_params(tmp_path, store_dir):
    nb = shutil.copy(EXAMPLES / "sklearn_training.ipynb", tmp_path / "train.ipynb")
    res = run_cli("run", str(nb), "-p", "lr=0.05", "-p", "epochs=3", "--name", "quick")
    assert res.returncode == 0, res.stderr
    run_id = res.stdout.strip().splitlines()[-1]
    listed = json.loads(run_cli("runs", "--format", "json").stdout)["runs"]
    outer = next(r for r in listed if r["id"] == run_id)
    assert (
        outer["name"] == "quick"
        and outer["experiment"] == "train"
        and outer["status"] == "finished"
    )
    assert outer["params"] == {"epochs": "3", "lr": "0.05"}
    inner = next(r for r in listed if r["name"] == "sgd")
    assert inner["parent_run_id"] == run_id and inner["params"]["lr"] == "0.05"
    assert set(inner["metrics"]) >= {"train_acc", "test_acc"}
    shown = json.loads(run_cli("show", run_id[:6], "--json").stdout)
    sources = [c["source"] for c in shown["cells"]]
    assert sources[0] == "%load_ext nbtrack"
    assert (
        sources[3].startswith("# Parameters injected by nbtrack run") and "lr = 0.05" in sources[3]
    )
    assert all(c["in_run"] for c in shown["cells"])
    assert shown["cells"][0]["cell_id"]  # cells keep their notebook ids
    assert shown["notebook"]["path"] == str(nb)
    assert {
        "index",
        "execution_count",
        "cell_id",
        "source",
        "status",
        "error",
        "in_run",
        "state",
    } <= set(shown["cells"][0])


@pytest.mark.slow
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


@pytest.mark.slow
def test_runs_lists_as_table_csv_and_json(tmp_path, store_dir):
    nb = write_nb(tmp_path / "tiny.ipynb", "import nbtrack\nnbtrack.log_metric('score', 0.75)")
    assert run_cli("run", str(nb), "--experiment", "tiny").returncode == 0
    table = run_cli("runs").stdout
    assert "tiny" in table and "finished" in table and "0.75" in table
    csv_out = run_cli("runs", "--format", "csv").stdout.splitlines()
    assert csv_out[0].startswith("id,name,experiment,status") and "metrics.score" in csv_out[0]
    data = json.loads(run_cli("runs", "--format", "json", "--experiment", "tiny").stdout)
    (run,) = data["runs"]
    assert set(run) >= {
        "id",
        "name",
        "experiment",
        "status",
        "start_time",
        "end_time",
        "params",
        "metrics",
        "tags",
    }
    assert run["metrics"] == {"score": 0.75}


@pytest.mark.slow
def test_bad_arguments_give_clear_errors(tmp_path, store_dir):
    res = run_cli("runs")
    assert res.returncode == 2 and f"no nbtrack store at {store_dir}" in res.stderr
    Store(str(store_dir)).close()
    res = run_cli("show", "zz")
    assert res.returncode == 2 and "not a run id: 'zz'" in res.stderr
    res = run_cli("run", str(tmp_path / "missing.ipynb"))
    assert res.returncode == 2 and "no notebook at" in res.stderr
    res = run_cli("run", str(write_nb(tmp_path / "x.ipynb", "1")), "-p", "not valid=1")
    assert res.returncode == 2 and "not a Python identifier" in res.stderr
    assert "--store" in run_cli("runs", "--help").stdout


@pytest.mark.slow
def test_a_run_records_the_notebooks_file_hash_and_git_revision(tmp_path, store_dir):
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    nb = write_nb(repo / "study.ipynb", "x = 1")
    git = ["git", "-c", "user.email=a@b.c", "-c", "user.name=a", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    clean = json.loads(run_cli("show", run_cli("run", str(nb)).stdout.strip(), "--json").stdout)[
        "notebook"
    ]
    assert clean["path"] == str(nb) and clean["git_commit"] == head and clean["git_dirty"] is False
    assert clean["hash"]
    (repo / "notes.txt").write_text("uncommitted")
    dirty = json.loads(run_cli("show", run_cli("run", str(nb)).stdout.strip(), "--json").stdout)[
        "notebook"
    ]
    assert dirty["git_commit"] == head and dirty["git_dirty"] is True


# -- the CLI's main in this process, on a real SQLite store (fast) ---------------------------
Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """``cli(*args)`` runs ``nbtrack *args`` here: (exit code, stdout, stderr); a 200-column terminal."""
    monkeypatch.setenv("COLUMNS", "200")

    def call(*args: str) -> tuple[int, str, str]:
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's errors
            code = exc.code if isinstance(exc.code, int) else 1
        out = capsys.readouterr()
        return code, out.out, out.err

    return call


def one_error_line(err: str) -> str:
    """The only line of ``err``: an ``nbtrack: error:`` line, no traceback."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nbtrack: error: "), err
    return lines[0]


@pytest.mark.slow
def test_store_option_works_before_or_after_the_command(tmp_path: Path) -> None:
    store = tmp_path / "elsewhere"
    rid = make_run(Store(str(store)), name="kept")
    env = {"NBTRACK_STORE": str(tmp_path / "default")}  # not the one asked for
    for args in (
        ["--store", str(store), "runs"],
        ["runs", "--store", str(store)],
        [f"--store={store}", "runs"],
        ["--store", str(tmp_path / "other"), "runs", "--store", str(store)],
    ):
        res = run_cli(*args, "--format", "json", env=env)
        assert res.returncode == 0, (args, res.stderr)
        assert [r["id"] for r in json.loads(res.stdout)["runs"]] == [rid]
    for args in (
        ["--store", str(store), "experiment", "list"],
        ["experiment", "list", "--store", str(store)],
    ):
        res = run_cli(*args, env=env)
        assert res.returncode == 0 and "exp" in res.stdout, (args, res.stderr)
    assert not (tmp_path / "default").exists()


@pytest.mark.slow
def test_a_postgresql_url_works_before_or_after_the_command(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTRACK_BLOBS", str(tmp_path / "blobs"))
    rid = make_run(Store(pg_url), name="on-pg", metrics={"loss": [0.5]}, cells=["x = 1"])
    for args in (["--store", pg_url, "runs"], ["runs", "--store", pg_url]):
        res = run_cli(*args, "--columns", "loss")
        assert res.returncode == 0 and res.stdout.splitlines()[1].startswith(rid[:8]), res.stderr
    res = run_cli("--store", pg_url, "show", rid[:8])
    assert res.returncode == 0 and "next: nbtrack replay" in res.stderr


@pytest.mark.slow
def test_a_mistyped_command_names_the_closest_one(tmp_path: Path) -> None:
    res = run_cli("rns")
    assert res.returncode == 2 and "unknown command 'rns'; did you mean 'runs'?" in res.stderr
    res = run_cli("--store", str(tmp_path), "exprt", "abc")
    assert res.returncode == 2 and "did you mean 'export'?" in res.stderr
    res = run_cli("zzzzzz")
    assert (
        res.returncode == 2
        and "unknown command 'zzzzzz'" in res.stderr
        and "did you mean" not in res.stderr
    )


def test_a_mistyped_command_names_the_closest_one_in_process(cli: Cli) -> None:
    code, _, err = cli("shwo", "abc")
    assert code == 2 and "did you mean 'show'?" in err
    code, _, err = cli("experimnts")
    assert code == 2 and "did you mean 'experiments'?" in err


READ_ONLY = [
    ["runs"],
    ["runs", "--format", "json"],
    ["show", "abc"],
    ["compare", "abc", "def"],
    ["experiments"],
    ["experiment", "list"],
    ["export", "abc"],
    ["export", "abc", "-f", "bundle"],
    ["replay", "abc"],
    ["doctor"],
    ["notes", "abc"],
    ["gc", "--dry-run"],
    ["export-runs", "-o", "out.zip"],
    ["mlflow-export", "abc", "--tracking-uri", "sqlite:///out.db"],
]
EDITS = [
    ["tag", "abc", "k=v"],
    ["rename", "abc", "new"],
    ["notes", "abc", "text"],
    ["move", "abc", "--to", "x"],
    ["delete", "abc"],
    ["restore", "abc"],
    ["gc"],
    ["experiment", "rename", "a", "b"],
    ["doctor", "--repair"],
]


@pytest.mark.parametrize("args", READ_ONLY + EDITS, ids=lambda a: "-".join(a))
@pytest.mark.parametrize("where", ["empty-folder", "missing-folder"])
def test_commands_that_read_or_edit_runs_never_create_a_store(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], where: str
) -> None:
    folder = tmp_path / "project"
    if where == "empty-folder":
        folder.mkdir()
    monkeypatch.chdir(tmp_path)
    for how in ("--store", "NBTRACK_STORE"):
        if how == "--store":
            code, out, err = cli(*args, "--store", str(folder))
        else:
            monkeypatch.setenv("NBTRACK_STORE", str(folder))
            code, out, err = cli(*args)
        line = one_error_line(err)
        assert code != 0 and out == ""
        assert f"no nbtrack store at {folder}" in line
        assert "recording a run creates one" in line and "default ./.nbtrack" in line
        assert (
            "no such folder" if where == "missing-folder" else "the folder has no nbtrack.db"
        ) in line
        if where == "empty-folder":
            assert os.listdir(folder) == []
        else:
            assert not folder.exists()
    assert sorted(os.listdir(tmp_path)) == (["project"] if where == "empty-folder" else [])


def test_read_only_commands_on_the_default_store_say_where_it_would_be(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NBTRACK_STORE")
    code, _, err = cli("runs")
    assert (
        code == 2
        and f"no nbtrack store at {tmp_path / '.nbtrack'} (no such folder)" in one_error_line(err)
    )
    assert os.listdir(tmp_path) == []


@pytest.fixture
def recorded(store_dir: Path) -> str:
    """The id of a run with recorded cells in the default store."""
    return make_run(
        Store(str(store_dir)),
        name="fit",
        cells=["import math", "x = math.pi"],
        env=b'{"python": "3"}',
    )


@pytest.mark.parametrize("fmt", ["script", "notebook", "bundle"])
def test_export_to_a_directory_or_an_unwritable_path_is_one_clear_error(
    cli: Cli, tmp_path: Path, recorded: str, fmt: str
) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    code, out, err = cli("export", recorded[:8], "-f", fmt, "-o", str(folder))
    line = one_error_line(err)
    assert code != 0 and out == "" and f"cannot export to {folder}: it is a directory" in line
    assert f"{folder}/fit-{recorded[:8]}." in line  # the file name it would have used

    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    code, out, err = cli("export", recorded[:8], "-f", fmt, "-o", str(a_file / "sub" / "run.out"))
    line = one_error_line(err)
    assert code != 0 and f"{a_file} is not a directory" in line and ".tmp" not in line
    assert os.listdir(folder) == [] and a_file.read_text() == "x"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere")
def test_export_into_a_read_only_directory_is_one_clear_error(
    cli: Cli, tmp_path: Path, recorded: str
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _, err = cli("export", recorded[:8], "-o", str(locked / "run.py"))
    finally:
        locked.chmod(0o700)
    assert code != 0 and f"the directory {locked} is not writable" in one_error_line(err)


def test_export_that_fails_while_writing_names_the_file_and_leaves_no_temporary(
    cli: Cli, tmp_path: Path, recorded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(self: Path, data: bytes) -> int:
        self.open("wb").close()  # the temporary file exists when the disk fills up
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_bytes", disk_full)
    target = tmp_path / "run.py"
    code, _, err = cli("export", recorded[:8], "-o", str(target))
    line = one_error_line(err)
    assert (
        code != 0 and line == f"nbtrack: error: cannot write {target}: {os.strerror(errno.ENOSPC)}"
    )
    assert os.listdir(tmp_path) == ["store"]  # neither the file nor its temporary


def test_runs_shows_the_most_common_metrics_first_and_counts_those_left_out(
    cli: Cli, store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    st = Store(str(store_dir))
    for i, metrics in enumerate(
        [
            {"loss": [0.5], "zeta": [1.0], "acc": [0.9], "system/cpu": [50.0]},
            {"loss": [0.4], "zeta": [2.0], "acc": [0.8], "f1": [0.7]},
            {"loss": [0.3], "system/cpu": [40.0]},
        ]
    ):
        make_run(st, name=f"r{i}", metrics=metrics, start=1000.0 + i)
    code, out, err = cli("runs")
    header = out.splitlines()[0].split()
    assert code == 0 and header[6:] == ["loss", "acc", "zeta", "f1"]  # by count, ties alphabetical
    assert err == ""  # nothing left out on a wide terminal; system/ metrics never chosen

    monkeypatch.setenv("COLUMNS", str(len(out.splitlines()[0]) - len("  f1")))
    code, out, err = cli("runs")
    assert out.splitlines()[0].split()[6:] == ["loss", "acc", "zeta"]
    assert err == "+1 more metric: use --columns to show them (f1)\n"
    width = len(" ".join(header[:7])) + 4
    monkeypatch.setenv("COLUMNS", str(width))
    code, out, err = cli("runs")
    assert out.splitlines()[0].split()[6:] == ["loss"]  # a metric is shown however narrow
    assert err.startswith("+3 more metrics: use --columns to show them (acc, ")

    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = cli("runs", "--filter", "metrics.f1 > 0")
    assert out.splitlines()[0].split()[6:] == [
        "acc",
        "f1",
        "loss",
        "zeta",
    ]  # only what the listed runs have


def test_runs_columns_chooses_metrics_params_and_tags(cli: Cli, store_dir: Path) -> None:
    st = Store(str(store_dir))
    a = make_run(
        st,
        name="a",
        metrics={"loss": [0.5], "val.loss": [0.6]},
        params={"lr": "0.1"},
        tags={"owner": "ana"},
    )
    make_run(st, name="b", metrics={"loss": [0.25]}, params={"lr": "0.2"})
    code, out, err = cli("runs", "--columns", "tags.owner,params.lr", "--columns", "loss, val.loss")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[6:] == ["tags.owner", "params.lr", "loss", "val.loss"]
    row_a = next(line for line in lines if line.startswith(a[:8])).split()
    assert row_a[-4:] == ["ana", "0.1", "0.5", "0.6"] and err == ""

    code, out, err = cli("runs", "--columns", "metrics.loss,param.lr,los", "--format", "csv")
    assert (
        out.splitlines()[0]
        == "id,name,experiment,status,start_time,end_time,duration,parent_run_id,metrics.loss,params.lr,metrics.los"
    )
    assert err == "note: no listed run has metrics.los; did you mean loss?\n"

    code, _, err = cli("runs", "--columns", "attributes.user")
    assert code == 2 and "only metrics., params. and tags. columns" in one_error_line(err)
    code, _, err = cli("runs", "--columns", "loss", "--format", "json")
    assert code == 2 and "--columns works with --format table or csv" in one_error_line(err)
    code, out, _ = cli("runs", "--help")
    assert "metrics.NAME, params.NAME, tags.NAME" in " ".join(out.split())


def test_runs_and_show_print_numbers_in_plain_notation(cli: Cli, store_dir: Path) -> None:
    rid = make_run(
        Store(str(store_dir)),
        metrics={
            "revenue": [37210.5],
            "total": [155002.45],
            "acc": [0.9370629370629371],
            "epochs": [3.0],
            "tiny": [0.000012345],
            "huge": [2.5e12 + 0.5],
            "count": [123456789.0],
        },
    )
    code, out, _ = cli("runs")
    header, row = out.splitlines()
    values = dict(zip(header.split()[6:], row.split()[7:], strict=True))  # "started" is two words
    assert values == {
        "acc": "0.937063",
        "count": "123456789",
        "epochs": "3",
        "huge": "2.5e+12",
        "revenue": "37210.5",
        "tiny": "1.2345e-05",
        "total": "155002",
    }
    code, out, _ = cli("show", rid[:8])
    assert "revenue = 37210.5 / 37210.5 / 37210.5  (1)" in out


def test_show_ends_with_the_next_steps(cli: Cli, store_dir: Path) -> None:
    st = Store(str(store_dir))
    rid = make_run(st, cells=["x = 1"])
    code, out, err = cli("show", rid[:6])
    assert code == 0 and out.startswith(f"run {rid}")
    short = rid[:8]
    assert (
        err
        == f"next: nbtrack replay {short} · nbtrack export {short} -f script · nbtrack compare {short} OTHER_RUN\n"
    )
    bare = make_run(st)  # no cells: nothing to replay or export
    assert cli("show", bare)[2] == f"next: nbtrack compare {bare[:8]} OTHER_RUN\n"
    code, out, err = cli("show", rid, "--json")
    assert err == "" and json.loads(out)["id"] == rid


def test_export_runs_to_a_directory_is_one_clear_error(tmp_path: Path) -> None:
    # Given a store with a run, and an existing directory as the output
    store = tmp_path / "store"
    with nbtrack.start_run(name="r", store=str(store)):
        nbtrack.log_metric("acc", 0.5)
    out = tmp_path / "out"
    out.mkdir()
    # When the runs are exported into the directory
    done = run_cli("export-runs", "-o", str(out), "--store", str(store))
    # Then one line names the problem, and nothing is left behind
    assert done.returncode != 0
    assert "it is a directory" in done.stderr and "Traceback" not in done.stderr
    assert ".tmp" not in done.stderr and list(out.iterdir()) == []
