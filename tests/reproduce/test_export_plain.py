"""An exported script is plain Python: ``python x.py`` (``ipython x.py`` when its header says
so) rebuilds the recorded state and records the run again; ``--no-tracking`` records nothing.

One real session (``%load_ext nbtrack``, a failing cell, two ``%%track`` cells with params and
tags, a shell escape) is exported and its scripts run in subprocesses, each into its own store.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli

from nbtrack.query.runs import run_detail
from nbtrack.recording.track_line import parse_track_line
from nbtrack.reproduce.notebook import render_notebook
from nbtrack.reproduce.script import render_script
from nbtrack.store import open_store

# Appended to a copy of the script: the hashes of the recorded names, as the script left them,
# computed with the hashing the recorder uses.
EPILOGUE = """

# %% (test epilogue)
import json as _nbt_json
from nbtrack.capture.hashing import hash_value as _nbt_hash
with open({out!r}, "w") as _nbt_f:
    _nbt_json.dump({{_n: _nbt_hash(_v) for _n, _v in list(globals().items()) if _n in {names!r}}}, _nbt_f)
"""
IPYTHON = [sys.executable, "-m", "IPython", "--quick", "--no-banner"]

SESSION = [
    ("load", "%load_ext nbtrack"),
    ("data", "import json\nbase = [1, 2, 3]"),
    ("fails", "partial = 'kept'\n1 / 0"),
    (
        "first",
        "%%track --name first --param scale=2 --tag kind=warmup\n"
        "scaled = [v * 2 for v in base]\n"
        "nbtrack.log_metric('total', sum(scaled))",
    ),
    ("shell", "greeting = !echo hi"),
    (
        "second",
        "%%track --name second --param lr=0.1 --tag owner=ana\n"
        "model = {'lr': 0.1, 'n': len(scaled), 'said': list(greeting), 'partial': partial}\n"
        "nbtrack.log_metric('acc', 0.9)\n"
        "summary = json.dumps(model)",
    ),
]


@pytest.fixture
def session(start_kernel: Any, store_dir: Path) -> dict[str, dict[str, Any]]:
    """The recorded session's two runs, by name (``run_detail`` of each)."""
    k = start_kernel()
    for cell_id, source in SESSION:
        out = k.run(source, cell_id=cell_id)
        assert out["status"] == ("error" if cell_id == "fails" else "ok"), out
    store = open_store(store_dir)
    runs = [run_detail(store, rid) for rid in store.list_run_ids()]
    return {r["name"]: r for r in runs}


def export(store_dir: Path, run: dict[str, Any], path: Path, *flags: str) -> str:
    proc = run_cli("export", run["id"][:8], "-f", "script", "-o", str(path), *flags,
                   "--store", str(store_dir))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return path.read_text()


def run_script(script: Path, runner: list[str], names: set[str]) -> tuple[Any, dict[str, str]]:
    """Run a copy of ``script`` with ``runner`` into a store of its own beside it; returns the
    process and the hashes of ``names`` the script left."""
    cwd = script.parent
    out = cwd / f"{script.stem}.state.json"
    copy = cwd / f"check_{script.name}"
    copy.write_text(script.read_text() + EPILOGUE.format(out=str(out), names=sorted(names)))
    env = {**os.environ, "NBTRACK_STORE": str(cwd / f"{script.stem}-store")}
    proc = subprocess.run(
        [*runner, str(copy)], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )
    state = json.loads(out.read_text()) if out.exists() else {}
    return proc, state


def rerecorded(script: Path) -> dict[str, dict[str, Any]]:
    """The runs the script recorded into its own store, by name."""
    path = script.parent / f"{script.stem}-store"
    if not path.exists():
        return {}
    store = open_store(path)
    return {r["name"]: r for r in (run_detail(store, rid) for rid in store.list_run_ids())}


@pytest.mark.slow
def test_a_tracked_run_exports_as_plain_python_that_rebuilds_its_state_and_records_it_again(
    session, store_dir, tmp_path
):
    # Given the first run (load_ext, a failing cell, its %%track cell: no shell escape)
    first = session["first"]
    recorded = first["cells"][-1]["state"]
    assert {"base", "partial", "scaled"} <= set(recorded)

    # When it is exported as a script and run with plain python
    script = tmp_path / "first.py"
    text = export(store_dir, first, script)
    proc, state = run_script(script, [sys.executable], set(recorded))

    # Then the script is plain Python, rebuilds the recorded state and records the run again
    assert "get_ipython" not in text
    assert "# Run with: python first.py (plain Python" in text
    assert "import nbtrack  # was: %load_ext nbtrack" in text
    assert (
        "with nbtrack.start_run(name='first', experiment=" + repr(first["experiment"]) + ", "
        "params={'scale': '2'}, tags={'kind': 'warmup'}):\n"
        "    scaled = [v * 2 for v in base]\n    nbtrack.log_metric('total', sum(scaled))"
    ) in text
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert state == recorded
    again = rerecorded(script)
    assert list(again) == ["first"]
    run = again["first"]
    assert (run["status"], run["experiment"]) == ("finished", first["experiment"])
    assert run["params"] == {"scale": "2"} and run["tags"]["kind"] == "warmup"
    assert run["metric_summary"]["total"]["latest"] == 12


@pytest.mark.slow
def test_a_script_with_a_shell_escape_says_it_needs_ipython_and_records_only_its_own_run(
    session, store_dir, tmp_path
):
    # Given the second run, whose cells hold a shell escape and the first run's %%track cell
    second = session["second"]
    recorded = second["cells"][-1]["state"]
    assert {"greeting", "model", "summary", "scaled", "partial"} <= set(recorded)
    script = tmp_path / "second.py"
    text = export(store_dir, second, script)

    # Then its header says ipython, and why; plain python cannot run it
    assert (
        "# Run with: ipython second.py (this script uses IPython magics: !echo), "
        "from the notebook's directory." in text
    )
    assert "greeting = get_ipython().getoutput('echo hi')" in text
    assert "# %%track --name first --param scale=2 --tag kind=warmup  (another run's cell" in text
    assert (
        "import nbtrack.reproduce.no_tracking\n"
        "with nbtrack.reproduce.no_tracking.untracked(globals()):\n"
        "    scaled = [v * 2 for v in base]\n"
        "    nbtrack.log_metric('total', sum(scaled))"
    ) in text
    proc, _ = run_script(script, [sys.executable], set(recorded))
    assert proc.returncode != 0 and "NameError: name 'get_ipython' is not defined" in proc.stderr
    assert rerecorded(script) == {}  # the first run's body ran before, without recording

    # When it runs under ipython it rebuilds the state and records only the second run
    proc, state = run_script(script, IPYTHON, set(recorded))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert state == recorded
    again = rerecorded(script)
    assert list(again) == ["second"]
    assert again["second"]["params"] == {"lr": "0.1"} and again["second"]["tags"]["owner"] == "ana"

    # And with --track-all the first run's cell records its run too
    script = tmp_path / "both.py"
    export(store_dir, second, script, "--track-all")
    proc, state = run_script(script, IPYTHON, set(recorded))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert state == recorded
    assert sorted(rerecorded(script)) == ["first", "second"]


@pytest.mark.slow
def test_no_tracking_rebuilds_the_state_and_records_nothing(session, store_dir, tmp_path):
    for name, runner in (("first", [sys.executable]), ("second", IPYTHON)):
        # Given a run exported with --no-tracking (its cells call nbtrack.log_metric)
        run = session[name]
        recorded = run["cells"][-1]["state"]
        script = tmp_path / f"quiet_{name}.py"
        text = export(store_dir, run, script, "--no-tracking")
        assert "start_run" not in text
        assert "Exported with --no-tracking: running it records nothing." in text
        assert "import nbtrack.reproduce.no_tracking as nbtrack  # was: %load_ext nbtrack" in text

        # When it runs, Then it rebuilds the state and no run is recorded
        proc, state = run_script(script, runner, set(recorded))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert state == recorded
        assert rerecorded(script) == {}


def cell(index: int, source: str, *, in_run: bool = False) -> dict[str, Any]:
    """A cell as Store.run_cells returns it (only what the renderers read)."""
    return {
        "index": index,
        "seq": index + 1,
        "execution_count": index + 1,
        "cell_id": f"c{index}",
        "source": source,
        "status": "ok",
        "error": None,
        "in_run": in_run,
    }


def test_names_params_and_tags_holding_newlines_or_quotes_stay_strings():
    # Given a run whose name, param and tag values try to end a string or a comment
    run = {"id": "ab" * 16, "name": "x\nimport os", "experiment": "e\r\nimport os"}
    cells = [
        cell(0, "%load_ext nbtrack"),
        cell(1, '%%track -p "q=\'\\nimport os #" --tag t=a\\\r\nv = 1', in_run=True),
        cell(2, "%%track --name other\r import os\nw = 2"),
    ]

    # When it is exported
    text = render_script(run, cells)

    # Then the only import is nbtrack's and the values are the strings the magic would parse
    tree = ast.parse(text)
    imports = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert imports == ["nbtrack"]
    (block,) = [n for n in tree.body if isinstance(n, ast.With)]
    call = block.items[0].context_expr
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    assert kwargs["name"] == run["name"] and kwargs["experiment"] == run["experiment"]
    magic = parse_track_line(cells[1]["source"].split("\n", 1)[0].removeprefix("%%track "))
    assert (kwargs["params"], kwargs["tags"]) == (magic.params, magic.tags)
    assert "'\\nimport os #" in next(iter(magic.params.values()))


def test_the_notebook_keeps_track_on_the_runs_own_cells_and_the_bodies_of_the_others():
    # Given a run whose session ran another run's %%track cell first
    run = {"id": "cd" * 16, "name": "mine", "experiment": "e"}
    cells = [
        cell(0, "%load_ext nbtrack"),
        cell(1, "%%track --name other -p a=1\nx = 1\nnbtrack.log_metric('x', x)"),
        cell(2, "%%track --name mine\ny = x + 1", in_run=True),
    ]

    # When it is exported as a notebook with each tracking choice
    sources = {
        tracking: [c.source for c in render_notebook(run, cells, tracking=tracking).cells]
        for tracking in ("run", "all", "none")
    }

    # Then its own cell keeps %%track, the other cell's body runs without recording
    other = (
        "# %%track --name other -p a=1  (another run's cell: the body runs, recording nothing; "
        "--track-all records it)\n"
    )
    assert sources["run"] == [
        "%load_ext nbtrack",
        other + "import nbtrack.reproduce.no_tracking\n"
        "with nbtrack.reproduce.no_tracking.untracked(globals()):\n"
        "    x = 1\n    nbtrack.log_metric('x', x)",
        cells[2]["source"],
    ]
    # --track-all keeps every cell as it was; --no-tracking keeps bodies and loads no extension
    assert sources["all"] == [c["source"] for c in cells]
    assert sources["none"] == [
        "import nbtrack.reproduce.no_tracking as nbtrack  # was: %load_ext nbtrack",
        other + "x = 1\nnbtrack.log_metric('x', x)",
        "# %%track --name mine  (--no-tracking: the body only, recording nothing)\ny = x + 1",
    ]
    ns: dict[str, Any] = {}
    exec("\n".join(sources["none"]), ns)
    assert (ns["x"], ns["y"], ns["nbtrack"].active_run()) == (1, 2, None)


def test_autolog_is_on_only_while_the_tracked_block_runs():
    run = {"id": "ef" * 16, "name": "fit", "experiment": "e"}
    cells = [cell(0, "%load_ext nbtrack"), cell(1, "%%track --autolog\nm = 1", in_run=True)]
    assert (
        "nbtrack.autolog()  # --autolog: the fits below log to the run\n"
        "try:\n"
        "    with nbtrack.start_run(name='fit', experiment='e'):\n"
        "        m = 1\n"
        "finally:\n"
        "    nbtrack.autolog(disable=True)"
    ) in render_script(run, cells)
    assert "nbtrack.autolog" not in render_script(run, cells, tracking="none")


def test_a_track_line_magic_makes_the_rest_of_its_cell_the_runs_block():
    run = {"id": "ef" * 16, "name": "r", "experiment": "e"}
    cells = [
        cell(0, "%load_ext nbtrack"),
        cell(1, "%track --name other\nw = 0"),
        cell(2, "x = 1\n%track --name r -p a=1\ny = x", in_run=True),
    ]
    text = render_script(run, cells)
    assert "get_ipython" not in text
    assert "# %track --name other  (another run's cell: the body runs" in text
    assert (
        "# %track --name r -p a=1  (records the run again)\n"
        "with nbtrack.start_run(name='r', experiment='e', params={'a': '1'}):\n"
        "    x = 1\n    y = x"
    ) in text


def test_cells_outside_the_run_that_would_record_run_untracked_and_reads_stay_as_they_are():
    run = {"id": "ef" * 16, "name": "r", "experiment": "e"}
    cells = [
        cell(0, "%load_ext nbtrack"),
        cell(1, "nbtrack.log_param('seed', 1)"),  # an implicit run of its own in the session
        cell(2, "rows = nbtrack.search_runs()"),
        cell(3, "%%track -n r\nnbtrack.log_metric('a', 1)", in_run=True),
    ]
    untracked = (
        "# (another run's nbtrack calls: they record nothing here; --track-all records them)\n"
        "import nbtrack.reproduce.no_tracking\n"
        "with nbtrack.reproduce.no_tracking.untracked(globals()):\n"
        "    nbtrack.log_param('seed', 1)"
    )
    assert untracked in render_script(run, cells)
    assert "rows = nbtrack.search_runs()" in render_script(run, cells)
    assert "untracked" not in render_script(run, cells, tracking="all")
    sources = [c.source for c in render_notebook(run, cells).cells]
    assert sources[1] == untracked and sources[2:] == [c["source"] for c in cells[2:]]
