"""The quick exit of the kernels nbtrack starts itself: every exit function runs once, in its
usual order, files still open are flushed, and only the interpreter's module teardown is skipped."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = """
import atexit, json
from nbtrack.reproduce.quick_exit import exit_quickly
atexit.register(lambda: print("registered first", flush=True))
atexit.register(lambda: print("registered second", flush=True))
json._left_open = open({left!r}, "w")  # held by a module, never closed
json._left_open.write("written before the exit")

class Teardown:
    def __del__(self):
        print("module teardown", flush=True)

json._teardown = Teardown()
exit_quickly()
{after}
"""


def run(tmp_path: Path, after: str = "") -> tuple[subprocess.CompletedProcess[str], Path]:
    left = tmp_path / "left-open.txt"
    code = textwrap.dedent(SCRIPT).format(left=str(left), after=after)
    root = Path(__file__).resolve().parents[2]
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=root
    )
    return res, left


def test_exit_functions_run_once_in_order_files_are_flushed_and_the_teardown_is_skipped(tmp_path):
    res, left = run(tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["registered second", "registered first"]
    assert left.read_text() == "written before the exit"


def test_a_function_registered_after_it_makes_the_exit_the_usual_one(tmp_path):
    res, left = run(tmp_path, after='atexit.register(lambda: print("registered last", flush=True))')
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[:3] == ["registered last", "registered second", "registered first"]
    assert "module teardown" in lines  # nothing ran twice, and the interpreter tore down as usual
    assert left.read_text() == "written before the exit"
