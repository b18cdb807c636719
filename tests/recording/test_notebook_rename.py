"""A kernel is told its notebook's path once, when it starts (``JPY_SESSION_NAME``); when
JupyterLab renames the open notebook, its extension tells the kernel (a silent request calling
``nbtrack.capture.revision.notebook_renamed``), so runs after the rename carry the renamed
file's revision instead of "not recorded"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nbtrack.query.runs import read_run
from nbtrack.store import open_store

EMPTY_NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def tell_renamed(kernel: Any, old: str, new: str) -> None:
    """What the JupyterLab extension sends on a rename (labextension/src/notebooks.ts)."""
    code = (
        "def __nbtrack_renamed():\n"
        "    try:\n"
        "        from nbtrack.capture.revision import notebook_renamed\n"
        "    except ImportError:\n"
        "        return\n"
        f"    notebook_renamed({json.dumps(old)}, {json.dumps(new)}, get_ipython().user_ns)\n"
        "__nbtrack_renamed()\n"
        "del __nbtrack_renamed"
    )
    msg_id = kernel.kc.execute(code, silent=True, store_history=False)
    reply = kernel.kc.get_shell_msg(timeout=60)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kernel.kc.get_shell_msg(timeout=60)
    assert reply["content"]["status"] == "ok", reply["content"]


def recorded(kernel: Any, name: str) -> dict[str, Any]:
    out = kernel.ok(f"%%track --name {name} --quiet\nimport nbtrack\nnbtrack.active_run().id")
    run_id = out["result"].strip("'")
    return read_run(open_store(), run_id)


def test_runs_after_a_rename_carry_the_renamed_files_revision(
    start_kernel: Any, tmp_path: Path
) -> None:
    # Given a kernel started for a new notebook, Untitled.ipynb, at the server's root
    notebook = tmp_path / "Untitled.ipynb"
    notebook.write_text(json.dumps(EMPTY_NOTEBOOK))
    kernel = start_kernel(JPY_SESSION_NAME=str(notebook))
    kernel.ok("%load_ext nbtrack")
    before = recorded(kernel, "before")
    assert before["notebook"]["path"] == str(notebook) and before["notebook"]["hash"]
    # When the notebook is moved to sub/train.ipynb and JupyterLab tells the kernel
    (tmp_path / "sub").mkdir()
    moved = notebook.rename(tmp_path / "sub" / "train.ipynb")
    tell_renamed(kernel, "Untitled.ipynb", "sub/train.ipynb")
    # Then the next run has the moved file's path and hash, as does the kernel's __session__
    after = recorded(kernel, "after")
    assert after["notebook"]["path"] == str(moved), after["notebook"]["path"]
    assert after["notebook"]["hash"] == before["notebook"]["hash"]  # the same bytes, moved
    assert kernel.ok("print(__session__)")["stdout"].strip() == str(moved)
    # and a rename of another notebook (a kernel shared with it) changes nothing
    tell_renamed(kernel, "other.ipynb", "else.ipynb")
    assert recorded(kernel, "later")["notebook"]["path"] == str(moved)


def test_a_kernel_without_nbtrack_loaded_learns_the_path_too(
    start_kernel: Any, tmp_path: Path
) -> None:
    # Given a new notebook renamed before nbtrack was loaded in its kernel
    notebook = tmp_path / "Untitled.ipynb"
    notebook.write_text(json.dumps(EMPTY_NOTEBOOK))
    kernel = start_kernel(JPY_SESSION_NAME=str(notebook))
    renamed = notebook.rename(tmp_path / "churn.ipynb")
    tell_renamed(kernel, "Untitled.ipynb", "churn.ipynb")
    # When nbtrack is loaded afterwards and records a run
    kernel.ok("%load_ext nbtrack")
    run = recorded(kernel, "first")
    # Then the run has the renamed file's revision, in the experiment named after it
    assert run["notebook"]["path"] == str(renamed) and run["notebook"]["hash"]
    assert run["experiment"] == "churn"
