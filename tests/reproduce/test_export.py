"""Export (script, notebook, bundle), slices and code snapshots, checked by rebuilding the state."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from conftest import run_cli

from nbtrack.capture.snapshot import (
    capture_snapshot,
    changed_files,
    restore_snapshot,
    snapshot_files,
)
from nbtrack.errors import ValidationError
from nbtrack.query.runs import run_detail
from nbtrack.reproduce.bundle import extract_bundle, read_bundle
from nbtrack.reproduce.export import export_run
from nbtrack.reproduce.notebook import render_notebook
from nbtrack.reproduce.script import render_script
from nbtrack.reproduce.slicing import plan_slice
from nbtrack.store import Store, open_store
from nbtrack.store.blobs import content_hash

RUN = {"id": "ab" * 16, "name": "demo", "experiment": "e"}

# Appended to an exported script: dump the hashes of the recorded names as the script left them.
EPILOGUE = """

# %% (test epilogue)
import json as _nbt_json
from nbtrack.capture.hashing import hash_value as _nbt_hash
with open({out!r}, "w") as _nbt_f:
    _nbt_json.dump({{_n: _nbt_hash(_v) for _n, _v in list(globals().items()) if _n in {names!r}}}, _nbt_f)
"""


def cell(
    index: int,
    source: str,
    *,
    status: str = "ok",
    created: tuple[str, ...] = (),
    changed: tuple[str, ...] = (),
    touched: list[str] | None = None,
    state: dict[str, str] | None = None,
    cell_id: str | None = None,
    error: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A cell as Store.run_cells returns it."""
    return {
        "index": index,
        "seq": index + 1,
        "execution_count": index + 1,
        "cell_id": cell_id or f"c{index}",
        "source": source,
        "status": status,
        "error": error,
        "in_run": True,
        "created": list(created),
        "changed": list(changed),
        "deleted": [],
        "touched": touched,
        "state": state or {},
    }


def latest_run(store_dir: Path) -> dict[str, Any]:
    store = open_store(store_dir)
    return run_detail(store, store.list_run_ids()[0])


def rebuilt_state(script: Path, names: set[str], runner: list[str], cwd: Path) -> dict[str, str]:
    """Run a copy of ``script`` with ``runner`` in ``cwd``; the hashes of ``names`` it leaves."""
    out = cwd / f"{script.stem}.state.json"
    copy = cwd / f"check_{script.stem}.py"
    copy.write_text(script.read_text() + EPILOGUE.format(out=str(out), names=sorted(names)))
    env = {**os.environ, "NBTRACK_STORE": str(cwd / "rerun-store")}
    proc = subprocess.run(
        [*runner, str(copy)], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(out.read_text())


IPYTHON = [sys.executable, "-m", "IPython", "--quick", "--no-banner"]


# -- script and notebook from a real session -------------------------------------------------
@pytest.mark.slow
def test_out_of_order_session_exports_in_executed_order_and_both_exports_rebuild_the_state(
    kernel, store_dir, tmp_path
):
    kernel.run("x = 1", cell_id="a")
    kernel.run("y = x + 1", cell_id="b")
    kernel.run("x = 5", cell_id="a")  # cell a edited and re-run, then b again: y = 6
    kernel.run("y = x + 1", cell_id="b")
    kernel.ok("%time t = y * 2")
    kernel.ok("files = !echo hello")
    assert kernel.run("partial = 'kept'\n1 / 0", cell_id="e")["status"] == "error"
    kernel.run(
        "%%track --name probe\nnbtrack.log_metric('m', 1.0)\nfinal = [x, y, t, partial, list(files)]",
        cell_id="f",
    )
    run = latest_run(store_dir)
    recorded = run["cells"][-1]["state"]
    assert {"x", "y", "t", "files", "partial", "final"} <= set(recorded)

    out = tmp_path / "out"
    proc = run_cli(
        "export",
        run["id"][:8],
        "--format",
        "script",
        "-o",
        str(out / "run.py"),
        "--store",
        str(store_dir),
    )
    assert proc.returncode == 0, proc.stderr
    text = (out / "run.py").read_text()
    headers = re.findall(r'^# %% \[(\d+)\](?: id="([^"]*)")?', text, re.M)
    assert [int(n) for n, _ in headers] == list(range(1, 10))
    assert [i for _, i in headers][1:] == [
        "a",
        "b",
        "a",
        "b",
        headers[5][1],
        headers[6][1],
        "e",
        "f",
    ]
    assert "# %time t = y * 2  (timing left out: the statement runs)\nt = y * 2" in text
    assert "files = get_ipython().getoutput('echo hello')" in text
    assert '# %% [8] id="e" status="error"' in text
    ast.parse(text)  # valid Python
    assert rebuilt_state(out / "run.py", set(recorded), IPYTHON, tmp_path) == recorded

    proc = run_cli(
        "export",
        run["id"],
        "--format",
        "notebook",
        "-o",
        str(out / "run.ipynb"),
        "--store",
        str(store_dir),
    )
    assert proc.returncode == 0, proc.stderr
    nb = nbformat.read(out / "run.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["nbtrack"]["run_id"] == run["id"]
    assert [c.source for c in nb.cells] == [c["source"] for c in run["cells"]]
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells)
    assert len({c.id for c in nb.cells}) == len(nb.cells)  # the re-run cells got distinct ids
    assert nb.cells[7].metadata["tags"] == ["raises-exception"]

    replay_store = tmp_path / "replay-store"
    proc = run_cli("run", str(out / "run.ipynb"), "-q", "--store", str(replay_store))
    # the failing cell fails again, as recorded and as its raises-exception tag expects
    assert proc.returncode == 0, proc.stderr
    assert "cell 7 failed: ZeroDivisionError" in proc.stderr
    replayed = run_detail(open_store(replay_store), proc.stdout.strip().splitlines()[-1])["cells"][
        -1
    ]["state"]
    assert replayed == recorded


@pytest.mark.slow
def test_script_of_a_session_without_magics_runs_with_plain_python(kernel, store_dir, tmp_path):
    kernel.ok("import math\nr = 2.0")
    kernel.ok("area = math.pi * r ** 2")
    kernel.ok("label = f'{area:.2f}'")
    kernel.ok("with nbtrack.start_run(name='plain'):\n    nbtrack.log_metric('area', area)")
    run = latest_run(store_dir)
    recorded = run["cells"][-1]["state"]
    path = export_run(open_store(store_dir), run["id"], "script", tmp_path / "plain.py")
    text = path.read_text()
    assert "get_ipython" not in text
    assert "import nbtrack  # was: %load_ext nbtrack" in text
    assert rebuilt_state(path, set(recorded), [sys.executable], tmp_path) == recorded


@pytest.mark.slow
def test_a_script_gives_the_output_history_names_the_values_the_session_gave_them(
    kernel, store_dir, tmp_path
):
    """``_``, ``__``, ``_<n>`` and ``Out`` hold each cell's displayed value in IPython; the
    exported script keeps them, with plain Python: ``None`` and a trailing ``;`` keep nothing."""
    kernel.ok("[1, 2, 3]")
    kernel.ok("len(_) * 10")
    kernel.ok("None")
    kernel.ok("quiet = 7\nquiet;")
    kernel.ok("first, before = _, __")
    kernel.ok("last = Out[max(Out)]\nby_number = globals()[f'_{max(Out)}']")
    kernel.ok("with nbtrack.start_run(name='history'):\n    pass")
    run = latest_run(store_dir)
    recorded = run["cells"][-1]["state"]
    assert {"first", "before", "last", "by_number"} <= set(recorded)
    path = export_run(open_store(store_dir), run["id"], "script", tmp_path / "history.py")
    assert "_nbtrack_out(" in path.read_text() and "get_ipython" not in path.read_text()
    names = {"first", "before", "last", "by_number", "quiet"}
    assert rebuilt_state(path, names, [sys.executable], tmp_path) == {k: recorded[k] for k in names}


# -- rendering, on recorded-shape cells ----------------------------------------------------
def test_magics_with_a_plain_equivalent_become_it_and_the_rest_get_ipython_calls():
    sources = [
        "%time t = 1 + 1",
        "!ls",
        "out = !echo hi",
        "%%capture c\nprint(1)",
        "%%bash\necho hi",
        "x = 1\nx?",
        "%matplotlib inline\nimport json",
        "%%time\nu = t * 2",
        "%%writefile notes.txt\nhello\n",
        "%%html\n<b>shown only</b>",
        "if t:\n    %timeit t + 1\n    v = %time t + 2",
    ]
    text = render_script(RUN, [cell(i, s) for i, s in enumerate(sources)], filename="x.py")
    ast.parse(text)
    for expected in (
        "# %time t = 1 + 1  (timing left out: the statement runs)\nt = 1 + 1",
        "get_ipython().system('ls')",
        "out = get_ipython().getoutput('echo hi')",
        "get_ipython().run_cell_magic('capture', 'c', 'print(1)\\n')",
        "get_ipython().run_cell_magic('bash', '', 'echo hi\\n')",
        "get_ipython().run_line_magic('pinfo', 'x')",
        "# %matplotlib inline  (left out: plots show in the notebook",
        "# %%time  (timing left out: the body runs)\nu = t * 2",
        "with open('notes.txt', 'w', encoding='utf-8') as _nbtrack_file:",
        "# %%html  (left out: display only)\n# <b>shown only</b>",
        "    pass  # %timeit t + 1  (left out:",
        "    v = t + 2",
    ):
        assert expected in text
    assert (
        "# Run with: ipython x.py (this script uses IPython magics: !ls, !echo, %%capture, "
        "%%bash, %pinfo)" in text
    )


def test_a_script_without_magics_left_says_python_runs_it(tmp_path):
    sources = [
        "%time t = 1 + 1",
        "%%time\nu = t * 2",
        "%matplotlib inline",
        "%%writefile n.txt\nhi\n",
    ]
    text = render_script(RUN, [cell(i, s) for i, s in enumerate(sources)], filename="x.py")
    assert "# Run with: python x.py (plain Python" in text and "get_ipython" not in text
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        ns: dict[str, Any] = {}
        exec(compile(text, "exported", "exec"), ns)
    finally:
        os.chdir(cwd)
    assert (ns["t"], ns["u"], (tmp_path / "n.txt").read_text()) == (2, 4, "hi\n")
    assert "_nbtrack_file" not in ns


def test_failed_cells_keep_their_effects_and_uncompilable_cells_become_comments():
    cells = [
        cell(0, "a = 1"),
        cell(
            1,
            "b = '''x\n  y'''\nraise ValueError('no')",
            status="error",
            error={"type": "ValueError", "message": "no"},
        ),
        cell(
            2,
            "lst = [a]\nlst.append(\n    2)\n1 / 0",
            status="error",
            error={"type": "ZeroDivisionError", "message": "x"},
        ),
        cell(
            3,
            "def broken(:\n    pass",
            status="error",
            error={"type": "SyntaxError", "message": "bad"},
        ),
        cell(4, "c = a + len(b) + len(lst)"),
    ]
    text = render_script(RUN, cells)
    assert "# Run with: python run.py (plain Python" in text
    assert "# def broken(:" in text
    ns: dict[str, Any] = {}
    exec(compile(text, "exported", "exec"), ns)
    assert (ns["a"], ns["b"], ns["lst"], ns["c"]) == (1, "x\n  y", [1, 2], 1 + 5 + 2)


def test_load_ext_is_left_out_of_a_script_that_does_not_use_nbtrack_and_future_imports_move_up():
    cells = [
        cell(0, "%load_ext nbtrack\nimport json"),
        cell(1, "from __future__ import annotations\nv = json.dumps(1)"),
    ]
    text = render_script(RUN, cells)
    assert "get_ipython" not in text
    assert "# %load_ext nbtrack  (left out" in text
    assert text.index("from __future__ import annotations") < text.index("# %% [1]")
    ns: dict[str, Any] = {}
    exec(compile(text, "exported", "exec"), ns)
    assert ns["v"] == "1"


def test_a_slice_without_the_loading_cell_gets_one_when_it_uses_nbtrack():
    cells = [cell(3, "%%track --name x\nq = 1")]
    text = render_script(RUN, cells)
    assert "# (added: the cells below use nbtrack)\nimport nbtrack\n" in text
    assert "with nbtrack.start_run(name='x', experiment='e'):\n    q = 1" in text
    nb = render_notebook(RUN, cells)
    assert [c.source for c in nb.cells] == ["%load_ext nbtrack", "%%track --name x\nq = 1"]


def test_notebook_export_is_clean_valid_and_keeps_the_recorded_ids_in_metadata():
    cells = [
        cell(0, "x = 1", cell_id="same"),
        cell(1, "x = 2", cell_id="same"),
        cell(2, "y = 1", cell_id="bad id/é"),
        cell(3, "1/0", status="error"),
    ]
    nb = render_notebook(RUN, cells, slice_var="y")
    nbformat.validate(nb)
    assert [c.id for c in nb.cells] == ["same", "same-2", "bad-id--", "c3"]
    assert [c.metadata["nbtrack"]["cell_id"] for c in nb.cells] == [
        "same",
        "same",
        "bad id/é",
        "c3",
    ]
    assert nb.metadata["nbtrack"]["run_id"] == RUN["id"] and nb.metadata["nbtrack"]["slice"] == "y"
    assert nb.cells[3].metadata["tags"] == ["raises-exception"]


# -- slices ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_slice_is_smaller_than_the_run_and_rebuilds_its_variable(kernel, store_dir, tmp_path):
    for source in (
        "import math",
        "a = 2",
        "b = [1]",
        "noise = list(range(5))",
        "c = a * 3",
        "b.append(c)",
        "d = math.sqrt(a) + len(noise)",
        "noise.clear()",
        "%%track --name probe\npass",
    ):
        kernel.ok(source)
    run = latest_run(store_dir)
    recorded = run["cells"][-1]["state"]["b"]
    path = tmp_path / "b.py"
    proc = run_cli("export", run["id"], "--slice", "b", "-o", str(path), "--store", str(store_dir))
    assert proc.returncode == 0, proc.stderr
    assert "4 of 10 cells for `b`, verified in a fresh kernel" in proc.stderr
    text = path.read_text()
    assert re.findall(r"^# %% \[(\d+)\]", text, re.M) == ["3", "4", "6", "7"]
    assert "noise" not in text and "math" not in text
    assert rebuilt_state(path, {"b"}, [sys.executable], tmp_path) == {"b": recorded}

    nb_path = export_run(
        open_store(store_dir), run["id"], "notebook", tmp_path / "b.ipynb", "b", verify=False
    )
    assert [c.source for c in nbformat.read(nb_path, as_version=4).cells] == [
        "a = 2",
        "b = [1]",
        "c = a * 3",
        "b.append(c)",
    ]


@pytest.mark.slow
def test_what_cannot_be_sliced_safely_is_named(kernel, store_dir, tmp_path):
    kernel.ok("base = 10")
    kernel.ok("exec('hidden = base + 1')")
    kernel.ok("via_exec = hidden * 2")
    assert kernel.run("partial = base\nraise ValueError('boom')")["status"] == "error"
    kernel.ok("after_failure = partial + 1")
    kernel.ok("open('n.txt', 'w').write('3')")
    kernel.ok("from_file = int(open('n.txt').read())")
    kernel.ok("%%track --name probe\npass")
    store, run_id = open_store(store_dir), latest_run(store_dir)["id"]

    def refused(var: str) -> str:
        with pytest.raises(ValidationError) as info:
            export_run(store, run_id, "script", tmp_path / f"{var}.py", var)
        assert not (tmp_path / f"{var}.py").exists()
        return str(info.value)

    assert re.search(
        r"""cell #2 \[3\] "exec\('hidden = base \+ 1'\)": which variables it reads cannot be told""",
        refused("via_exec"),
    )
    assert 'cell #4 [5] "partial = base" failed when recorded (ValueError)' in refused(
        "after_failure"
    )
    assert (
        """cell #6 [7] "open('n.txt', 'w').write('3')" writes n.txt, which needed cell #7"""
        in refused("from_file")
    )
    with pytest.raises(ValidationError, match="'nope' is not a variable of the run's final state"):
        export_run(store, run_id, "script", tmp_path / "nope.py", "nope")
    export_run(
        store, run_id, "script", tmp_path / "base.py", "base", verify=False
    )  # a safe one still works


def test_slice_gives_names_defined_before_load_ext_to_the_history_cells_that_define_them():
    cells = [
        cell(0, "import math\nr = 2", status="history"),
        cell(1, "unused = 5", status="history"),
        cell(
            2,
            "%load_ext nbtrack",
            created=("math", "r", "unused"),
            touched=["nbtrack"],
            state={"math": "m", "r": "r", "unused": "u"},
        ),
        cell(
            3,
            "area = math.pi * r ** 2",
            created=("area",),
            touched=["area", "math", "r"],
            state={"math": "m", "r": "r", "unused": "u", "area": "A"},
        ),
    ]
    kept, problems = plan_slice(cells, "area")
    assert problems == []
    assert [c["index"] for c in kept] == [0, 3]


def test_an_unhashable_needed_variable_makes_the_slice_unsafe():
    cells = [
        cell(
            0,
            "gen = iter([1])",
            created=("gen",),
            touched=["gen", "iter"],
            state={"gen": "unhashable:iterator"},
        ),
        cell(
            1,
            "v = next(gen)",
            created=("v",),
            changed=("gen",),
            touched=["gen", "next", "v"],
            state={"gen": "unhashable:iterator", "v": "h"},
        ),
    ]
    kept, problems = plan_slice(cells, "v")
    assert len(kept) == 2
    assert problems == [
        "`gen` cannot be hashed (iterator), so the cells that change it cannot be told"
    ]


# -- bundle ---------------------------------------------------------------------------------
def make_project(root: Path) -> None:
    """A notebook directory: a helper module, data, an .nbtrackignore and things it must not take."""
    nbformat.write(nbformat.v4.new_notebook(), root / "analysis.ipynb")
    (root / "helpers.py").write_text(
        "def load(path):\n    with open(path) as f:\n        return f.read().splitlines()\n"
    )
    (root / "data.csv").write_text("a,b\n1,2\n3,4\n")
    (root / ".nbtrackignore").write_text("secret.txt\nscratch/\n*.bin\n")
    (root / "secret.txt").write_text("do not take me")
    (root / "scratch").mkdir()
    (root / "scratch" / "tmp.txt").write_text("scratch")
    (root / "large.dat").write_bytes(b"\0" * (2 << 20))  # over the 1 MB per-file limit
    (root / ".ipynb_checkpoints").mkdir()
    (root / ".ipynb_checkpoints" / "analysis-checkpoint.ipynb").write_text("{}")


@pytest.mark.slow
def test_bundle_holds_notebook_script_requirements_inputs_manifest_and_snapshot_and_nothing_else(
    start_kernel, store_dir, tmp_path
):
    make_project(tmp_path)
    k = start_kernel(JPY_SESSION_NAME=str(tmp_path / "analysis.ipynb"))
    k.ok("%load_ext nbtrack")
    k.ok("%%track --name other\nunrelated = 1")
    k.ok("import helpers\nrows = helpers.load('data.csv')")
    k.ok("%%track --name main --param lr=0.1\nnbtrack.log_metric('rows', len(rows))")
    store = open_store(store_dir)
    main, other = store.list_run_ids()[:2]
    detail = run_detail(store, main)
    assert detail["name"] == "main"

    path = tmp_path / "out" / "main.zip"
    proc = run_cli("export", main, "--format", "bundle", "-o", str(path), "--store", str(store_dir))
    assert proc.returncode == 0, proc.stderr
    bundle = read_bundle(path)
    assert set(bundle["members"]) == {
        "manifest.json",
        "run.ipynb",
        "run.py",
        "requirements.txt",
        "environment.json",
        "inputs.json",
        "snapshot/analysis.ipynb",
        "snapshot/helpers.py",
        "snapshot/data.csv",
        "snapshot/.nbtrackignore",
    }
    man = bundle["manifest"]
    assert (man["run_id"], man["name"], man["experiment"], man["params"]) == (
        main,
        "main",
        "analysis",
        {"lr": "0.1"},
    )
    assert man["nbtrack_version"] and man["created"] == detail["start_time"]
    assert [c["state"] for c in man["cells"]] == [c["state"] for c in detail["cells"]]
    assert bundle["final_state"] == detail["cells"][-1]["state"]
    requirements = [ln for ln in bundle["requirements"].splitlines() if not ln.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+==\S+", ln) for ln in requirements)
    assert f"ipykernel=={importlib.metadata.version('ipykernel')}" in requirements
    data_hash = content_hash((tmp_path / "data.csv").read_bytes())
    assert [(i["path"], i["hash"], i["size"]) for i in bundle["inputs"]] == [
        ("data.csv", data_hash, 12)
    ]
    assert bundle["notebook"].metadata["nbtrack"]["run_id"] == main
    assert (
        "with nbtrack.start_run(name='main', experiment='analysis', params={'lr': '0.1'}):"
        in (bundle["script"])
    )
    assert "# %%track --name other  (another run's cell" in bundle["script"]
    assert bundle["read"]("snapshot/helpers.py") == (tmp_path / "helpers.py").read_bytes()

    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            content = zf.read(name).decode("utf-8", "replace")
            assert str(tmp_path) not in content, name
            assert os.path.expanduser("~") + "/" not in content, name
            assert other not in content, name

    target = extract_bundle(path, tmp_path / "elsewhere")
    assert (target / "helpers.py").read_text() == (tmp_path / "helpers.py").read_text()
    assert (target / "run.ipynb").exists() and (target / "data.csv").exists()


def test_bundle_of_a_run_without_cells_is_refused(store_dir, tmp_path):
    store = open_store(store_dir)
    import nbtrack

    with nbtrack.start_run(name="script-run", store=store) as run:
        nbtrack.log_metric("m", 1.0)
    with pytest.raises(ValidationError, match="no recorded cells"):
        export_run(store, run.id, "bundle", tmp_path / "x.zip")


# -- code snapshot --------------------------------------------------------------------------
def import_file(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_snapshot_captures_local_modules_and_respects_nbtrackignore(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    make_project(project)
    (project / ".git").mkdir()
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / "helpers.cpython-311.pyc").write_bytes(b"\0")
    devpkg = tmp_path / "dev" / "mylib"
    devpkg.mkdir(parents=True)
    (devpkg / "core.py").write_text("VALUE = 1\n")
    store = Store(str(project / ".nbtrack"))
    modules = [
        json,
        import_file("helpers_snap", project / "helpers.py"),
        import_file("mylib_core_snap", devpkg / "core.py"),
    ]

    h = capture_snapshot(store, str(project), modules)
    assert h is not None
    files = snapshot_files(store, h)
    assert set(files) == {
        "analysis.ipynb",
        "helpers.py",
        "data.csv",
        ".nbtrackignore",
        str(devpkg / "core.py"),
    }
    assert files["helpers.py"] == content_hash((project / "helpers.py").read_bytes())
    assert capture_snapshot(store, str(project), modules) == h  # unchanged files: the same snapshot

    (project / "helpers.py").write_text("def load(path):\n    return []\n")
    (project / "data.csv").unlink()
    assert changed_files(store, h, project) == [("data.csv", "missing"), ("helpers.py", "changed")]
    restored = restore_snapshot(store, h, tmp_path / "restored")
    assert (tmp_path / "restored" / "data.csv").read_text() == "a,b\n1,2\n3,4\n"
    assert (
        restored[str(devpkg / "core.py")]
        == tmp_path / "restored" / "_external" / Path(*devpkg.parts[1:]) / "core.py"
    )

    monkeypatch.setenv("NBTRACK_SNAPSHOT_FILE_LIMIT_MB", "3")
    assert "large.dat" in snapshot_files(
        store, capture_snapshot(store, str(project), modules) or ""
    )
    monkeypatch.setenv("NBTRACK_SNAPSHOT_LIMIT_MB", "0")
    assert capture_snapshot(store, str(project), modules) is None


@pytest.mark.slow
def test_a_tracked_run_records_the_helper_module_beside_the_notebook(
    start_kernel, store_dir, tmp_path
):
    make_project(tmp_path)
    k = start_kernel(JPY_SESSION_NAME=str(tmp_path / "analysis.ipynb"))
    k.ok("%load_ext nbtrack")
    k.ok("%%track --name uses-helpers\nimport helpers\nrows = helpers.load('data.csv')")
    store = open_store(store_dir)
    (row,) = store.run_summaries(store.list_run_ids()[:1])
    files = snapshot_files(store, row["snapshot_hash"])
    assert {"helpers.py", "data.csv", "analysis.ipynb"} <= set(files)
    assert not {"secret.txt", "scratch/tmp.txt", "large.dat"} & set(files)
    assert not any(p.startswith(("store/", "__pycache__")) or "nbtrack/" in p for p in files)
