"""Fresh-kernel execution as replay uses it: nbtrack loaded while the kernel starts, and a
kernel that exits (gracefully) while the verdict is computed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from nbtrack.reproduce.execute import LOAD_NBTRACK, KernelError, execute_notebook
from nbtrack.reproduce.notebook_format import import_nbformat
from nbtrack.reproduce.replay import replay_run
from nbtrack.store import open_store

pytestmark = pytest.mark.slow


def notebook(*sources: str) -> object:
    nbformat = import_nbformat()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return nb


def kernel_exits() -> None:
    for t in threading.enumerate():
        if t.name == "nbtrack-kernel-exit":
            t.join(60)


def test_nbtrack_is_loaded_while_the_kernel_starts_and_set_up_says_nothing(
    store_dir, tmp_path, capsys
):
    nb = notebook("print(sorted(get_ipython().extension_manager.loaded))")
    ok = execute_notebook(
        nb,
        cwd=str(tmp_path),
        env={"NBTRACK_STORE": str(store_dir)},
        setup=LOAD_NBTRACK,
        teardown=lambda ok: "",
        extensions=("nbtrack",),
    )
    assert ok
    assert "'nbtrack'" in nb.cells[0].outputs[0]["text"]
    assert "already loaded" not in capsys.readouterr().out


def test_an_extension_that_fails_to_load_at_start_fails_the_set_up_with_its_error(tmp_path):
    with pytest.raises(KernelError, match="set-up code failed.*ModuleNotFoundError"):
        execute_notebook(
            notebook("1"),
            cwd=str(tmp_path),
            env={},
            setup="get_ipython().extension_manager.load_extension('no_such_extension_here')",
            teardown=lambda ok: "",
            extensions=("no_such_extension_here",),
        )


def test_a_replay_kernel_exits_gracefully_after_the_verdict(kernel, store_dir, tmp_path):
    # Given a recorded run whose cells register an exit function writing a file, and leave
    # files open with their writes still buffered: one in a variable, one held by a module
    names = ("exited.txt", "mine.txt", "held.txt", "torn-down.txt")
    marker, mine, held, torn = (tmp_path / n for n in names)
    kernel.ok(
        f"import atexit\natexit.register(lambda: open({str(marker)!r}, 'w').write('bye'))\nx = 1"
    )
    kernel.ok(
        f"import json\nf = open({str(mine)!r}, 'w')\nf.write('mine')\n"
        f"json._held = open({str(held)!r}, 'w')\njson._held.write('held')"
    )
    kernel.ok(  # an object only the interpreter's module teardown finalises
        "class TornDown:\n    def __del__(self):\n"
        f"        open({str(torn)!r}, 'w').write('torn down')\njson._torn = TornDown()"
    )
    kernel.ok("%%track --name leaves\ny = x + 1")
    store = open_store(store_dir)
    run_id = next(
        r["id"] for r in store.run_summaries(store.list_run_ids()) if r["name"] == "leaves"
    )
    # (the recording kernel is still up: it has written nothing yet)
    for path in (marker, mine, held, torn):
        path.unlink(missing_ok=True)
    # When it is replayed
    report = replay_run(run_id, store, progress=False)
    # Then the verdict and the replay's run are complete, and the kernel still exits as
    # nbclient has kernels exit: its exit functions run and what was written reaches the files
    # (the exit skips only the interpreter's module teardown: quick_exit)
    assert report.reproduced is True and report.cells_total == report.cells_matched
    (replayed,) = store.run_summaries([report.replay_run_id])
    cells = store.run_cells(replayed)
    assert replayed["status"] == "finished" and len(cells) == report.cells_total
    assert cells[-1]["source"] == "%%track --name leaves\ny = x + 1"
    kernel_exits()
    deadline = time.monotonic() + 30
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert Path(marker).read_text() == "bye"
    assert mine.read_text() == "mine" and held.read_text() == "held"
    assert not torn.exists()  # the module teardown, 0.3-0.5 s with pandas imported, was skipped
