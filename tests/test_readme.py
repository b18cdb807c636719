"""The README's tour runs as written, top to bottom: its notebook cells in a real kernel, its
plain-Python snippet as a script, and its terminal commands against the runs the tour made."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
pytestmark = pytest.mark.slow


def tour_blocks() -> list[tuple[str, str]]:
    """(language, code) of every fenced block from "A 30-second tour" to the end of its CLI part."""
    text = README.read_text()
    tour = text[text.index("## A 30-second tour") : text.index("## What is recorded")]
    return [(m[1], m[2]) for m in re.finditer(r"```(\w+)\n(.*?)```", tour, re.S)]


def test_readme_tour_runs_as_written(kernel: Any, tmp_path: Path, store_dir: Path) -> None:
    # Given the tour's blocks, in order
    blocks = tour_blocks()
    assert [lang for lang, _ in blocks].count("bash") == 1, "the tour ends with one terminal block"

    # When each notebook block runs as a cell of one kernel (%load_ext nbtrack already ran, as in
    # the first block) and the plain-Python block as a script
    for lang, code in blocks:
        if lang != "python" or code.startswith("%load_ext"):
            continue
        if code.startswith("import nbtrack"):
            script = subprocess.run(
                [sys.executable, "-c", code],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                env={"NBTRACK_STORE": str(store_dir), "PATH": ""},
                timeout=120,
            )
            assert script.returncode == 0, script.stderr
        else:
            kernel.ok(code)

    # Then the notebook's run is stored, finished, with its step metrics
    import nbtrack

    runs = nbtrack.search_runs("attributes.run_name = 'baseline' AND params.alpha = '0.001'")
    assert len(runs) == 1 and runs["status"][0] == "finished"
    run_id = runs["run_id"][0]
    assert len(nbtrack.get_metric_history(run_id, "train_acc")) == 10

    # And the terminal block's commands succeed, with "3f2a" standing for that run's id prefix
    # and analysis.ipynb for a notebook of the user's with a parameters cell
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("lr = 0.01", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(lr * 2)"),
    ]
    nbformat.write(nb, tmp_path / "analysis.ipynb")
    ((_, commands),) = [b for b in blocks if b[0] == "bash"]
    for line in commands.splitlines():
        argv = shlex.split(line.split("#")[0].replace("3f2a", run_id[:8]))
        assert argv[0] == "nbtrack"
        done = subprocess.run(
            [sys.executable, "-m", "nbtrack.cli", *argv[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        if argv[1] == "replay":
            assert "reproduced" in done.stdout
    assert nbformat.read(tmp_path / "clean.ipynb", as_version=4).cells
