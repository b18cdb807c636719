"""A run that ends in a notebook says so in one line (W&B's "View run at ..."): name, short id,
status, duration and final metrics as text/plain, with the same facts as
``application/vnd.nbtrack.run+json`` for JupyterLab's button that opens the run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nbtrack.query.runs import read_run
from nbtrack.recording.summary import MIME, duration_text
from nbtrack.store import open_store

LINE = re.compile(r"^nbtrack: run (\S+) \(([0-9a-f]{8})\) (finished in|failed after|killed after) ")


def summaries(out: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in out["displays"] if MIME in d]


def test_a_track_cell_ends_with_one_line_naming_its_run_and_final_metrics(kernel: Any) -> None:
    # Given a %%track cell logging three metrics, one of them at several steps
    out = kernel.ok(
        "%%track --name sgd-0.01 --param alpha=0.01\n"
        "import nbtrack\n"
        "for i in range(3):\n"
        "    nbtrack.log_metric('loss', 1 / (i + 1))\n"
        "nbtrack.log_metrics({'acc': 0.912345678, 'f1': 0.5})\n"
    )
    # Then its output is one summary: the plain line and the JSON the extension draws
    [bundle] = summaries(out)
    text, data = bundle["text/plain"], bundle[MIME]
    match = LINE.match(text)
    assert match, text
    assert match.group(1) == "sgd-0.01" and match.group(3) == "finished in"
    assert data["id"].startswith(match.group(2)) and len(data["id"]) == 32
    assert "loss=0.333333" in text and "acc=0.912346" in text and "f1=0.5" in text
    assert "\n" not in text
    assert data["name"] == "sgd-0.01" and data["status"] == "finished"
    assert data["metrics"] == [["loss", "0.333333"], ["acc", "0.912346"], ["f1", "0.5"]]
    assert data["failure"] is None and data["text"] == text
    # and the id is the run's: the store has it, finished
    run = read_run(open_store(), data["id"])
    assert run["name"] == "sgd-0.01" and run["status"] == "finished"


def test_many_metrics_are_cut_to_four_and_counted(kernel: Any) -> None:
    out = kernel.ok(
        "%%track --name wide\nimport nbtrack\nnbtrack.log_metrics({f'm{i}': i for i in range(7)})\n"
    )
    [bundle] = summaries(out)
    assert bundle["text/plain"].endswith("· m0=0 · m1=1 · m2=2 · m3=3 · +3 more")
    assert bundle[MIME]["more_metrics"] == 3


def test_a_failed_run_says_failed_and_where(kernel: Any) -> None:
    # Given a %%track cell that raises on its third line
    out = kernel.run(
        "%%track --name broken\nimport nbtrack\nnbtrack.log_metric('acc', 0.5)\n1 / 0\n"
    )
    assert out["error"] == "ZeroDivisionError"
    # Then the line says failed, with the error and its line and cell, and the metric so far
    [bundle] = summaries(out)
    text = bundle["text/plain"]
    assert LINE.match(text) and " failed after " in text, text
    count = out["execution_count"]
    assert f"ZeroDivisionError: division by zero at line 4 of cell [{count}]" in text, text
    assert text.endswith("· acc=0.5")
    assert bundle[MIME]["failure"]["type"] == "ZeroDivisionError"
    assert bundle[MIME]["failure"]["lineno"] == 4


def test_quiet_and_the_setting_silence_the_line(kernel: Any) -> None:
    out = kernel.ok("%%track --quiet --name hush\nimport nbtrack\nnbtrack.log_metric('a', 1)\n")
    assert summaries(out) == [] and out["stdout"] == ""
    kernel.ok("%env NBTRACK_RUN_SUMMARY=off")
    assert summaries(kernel.ok("%%track --name hush2\nx = 1\n")) == []
    kernel.ok("%env NBTRACK_RUN_SUMMARY=on")
    assert len(summaries(kernel.ok("%%track --name loud\nx = 1\n"))) == 1


def test_a_top_level_with_start_run_prints_the_line_and_its_children_do_not(kernel: Any) -> None:
    # Given a sweep: one top-level run holding three child runs, in one cell
    out = kernel.ok(
        "import nbtrack\n"
        "with nbtrack.start_run(name='sweep'):\n"
        "    for a in (1, 2, 3):\n"
        "        with nbtrack.start_run(name=f'a{a}'):\n"
        "            nbtrack.log_metric('score', a)\n"
    )
    # Then only the parent says it ended
    [bundle] = summaries(out)
    assert bundle["text/plain"].startswith("nbtrack: run sweep (")
    # and a run a logging call starts implicitly, or one ended with end_run(), says nothing
    assert summaries(kernel.ok("nbtrack.log_metric('x', 1)")) == []
    assert summaries(kernel.ok("r = nbtrack.start_run(name='bare')\nnbtrack.end_run()")) == []


def test_a_failure_to_show_the_line_is_one_warning_and_the_cell_succeeds(kernel: Any) -> None:
    # Given a kernel whose display publisher is broken
    kernel.ok(
        "ip = get_ipython()\n"
        "def broken(*a, **k):\n"
        "    raise RuntimeError('no display here')\n"
        "ip.display_pub.publish = broken\n"
    )
    out = kernel.run("%%track --name shown\nx = 2\nx")
    # Then the cell still succeeds with its value, and one warning line says why
    assert out["status"] == "ok" and out["result"] == "2"
    lines = [ln for ln in out["stderr"].splitlines() if "NbtrackWarning" in ln]
    assert len(lines) == 1 and "could not show the summary of run" in lines[0], out["stderr"]
    assert "no display here" in lines[0]


def test_durations_read_as_a_person_writes_them() -> None:
    assert duration_text(0.4213) == "0.42 s"
    assert duration_text(2.44) == "2.4 s"
    assert duration_text(37.2) == "37 s"
    assert duration_text(192) == "3 min 12 s"
    assert duration_text(3600 + 4 * 60 + 10) == "1 h 04 min"


@pytest.mark.slow
def test_outside_jupyterlab_the_line_is_plain_text(store_dir: Path, tmp_path: Path) -> None:
    # Given a notebook with a %%track cell, executed and converted by nbconvert
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext nbtrack"),
        nbformat.v4.new_code_cell(
            "%%track --name headless-line\nimport nbtrack\nnbtrack.log_metric('acc', 0.75)"
        ),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, tmp_path / "plain.ipynb")
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "markdown", "--execute"]
        + ["plain.ipynb"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=180,
    )
    # Then the output is the line as text, with nothing of the extension's JSON
    markdown = (tmp_path / "plain.md").read_text()
    lines = [ln.strip() for ln in markdown.splitlines() if "nbtrack: run" in ln]
    assert len(lines) == 1 and LINE.match(lines[0]), markdown
    assert "headless-line" in lines[0] and lines[0].endswith("· acc=0.75")
    assert "vnd.nbtrack" not in markdown and '"metrics"' not in markdown
