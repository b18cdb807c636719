"""``nbtrack show`` says near the top how a failed run failed, in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_cli


def failed_script_run(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import nbtrack\n"
        "with nbtrack.start_run(name='broken', params={'lr': 0.1}):\n"
        "    x = 1 / 0\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr


def test_show_puts_the_failure_of_a_failed_run_near_the_top(tmp_path, store_dir):
    failed_script_run(tmp_path)
    ids = json.loads(run_cli("runs", "--format", "json").stdout)
    rid = ids["runs"][0]["id"]

    shown = run_cli("show", rid[:8])
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[2] == "Failed: ZeroDivisionError: division by zero at line 3: x = 1 / 0"

    record = json.loads(run_cli("show", rid, "--json").stdout)
    assert record["failure"] == {
        "type": "ZeroDivisionError",
        "message": "division by zero",
        "line": "x = 1 / 0",
        "lineno": 3,
        "execution_count": None,
    }


def test_show_of_a_run_that_did_not_fail_has_no_failure_line(tmp_path, store_dir):
    import nbtrack

    with nbtrack.start_run(name="fine", store=store_dir, log_system_metrics=False) as run:
        pass
    shown = run_cli("show", run.id)
    assert shown.returncode == 0 and "Failed" not in shown.stdout
    assert json.loads(run_cli("show", run.id, "--json").stdout)["failure"] is None


def test_a_failure_in_a_cell_names_the_cell_and_a_long_message_stays_on_one_line():
    from nbtrack.cli.main import failure_text

    failure = {
        "type": "ValueError",
        "message": "bad",
        "line": "x = 1 / 0",
        "lineno": 3,
        "execution_count": 11,
    }
    assert failure_text(failure) == "Failed: ValueError: bad at line 3 of cell [11]: x = 1 / 0"
    long = failure_text({**failure, "message": "a\nb " * 500, "line": None, "lineno": None})
    assert "\n" not in long and len(long) < 230 and long.endswith("…")
