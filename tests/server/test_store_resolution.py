"""Which store the server opens, and that it is the one on disk (issue #18, finding 9): a
``.nbtrack`` symlink beside a notebook cannot lead outside the root, a store deleted and
recreated is reopened, a read-only store with a dead "running" run is readable, and a
zombie kernel does not keep its run running. Real Jupyter server, real files, real mounts."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import add_ended_process_session, run_cli
from server_fixtures import jp_server_config, no_store_from_env  # noqa: F401
from test_server import error_of, get_json, make_run, send_json

from nbtrack.store import Store, open_store

pytest_plugins = ["pytest_jupyter.jupyter_server"]


async def test_a_store_symlink_beside_a_notebook_cannot_lead_outside_the_root(
    jp_fetch: Any, jp_root_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given a store outside the server's root and a .nbtrack symlink to it beside a notebook
    outside = tmp_path_factory.mktemp("outside") / "store"
    secret_run = make_run(Store(str(outside)), name="outside")
    (jp_root_dir / "project").mkdir()
    (jp_root_dir / "project" / ".nbtrack").symlink_to(outside)
    # When the sidebar lists the runs of that notebook, or edits a tag there
    code, message = await error_of(get_json(jp_fetch, "runs", notebook="project/a.ipynb"))
    # Then both are refused with a clear JSON error, and nothing outside is written
    assert code == 403 and "leads outside the server root" in message
    code, _ = await error_of(
        send_json(
            jp_fetch,
            "PUT",
            "runs",
            secret_run,
            "tags",
            body={"tags": {"x": "1"}},
            notebook="project/a.ipynb",
        )
    )
    assert code == 403
    assert Store(str(outside), create=False).run_summaries([secret_run])[0]["tags"] == {}


async def test_a_store_deleted_and_recreated_on_disk_is_reopened(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    # Given the server has served a store
    path = jp_root_dir / ".nbtrack"
    old = make_run(open_store(path), name="old")
    assert [r["id"] for r in (await get_json(jp_fetch, "runs"))["runs"]] == [old]
    # When the store is deleted and a new one made at the same path (another process)
    shutil.rmtree(path)
    code = (
        "import sys, nbtrack\n"
        "with nbtrack.start_run(name='new', log_system_metrics=False) as r:\n"
        "    print(r.id)\n"
    )
    new = subprocess.run(
        [sys.executable, "-c", code],
        env={"NBTRACK_STORE": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Then the server lists the new store's run, and a tag edit lands in the new file
    assert [r["id"] for r in (await get_json(jp_fetch, "runs"))["runs"]] == [new]
    await send_json(jp_fetch, "PUT", "runs", new, "tags", body={"tags": {"seen": "yes"}})
    fresh = Store(str(path), create=False)
    try:
        assert fresh.run_summaries([new])[0]["tags"] == {"seen": "yes"}
    finally:
        fresh.close()
    # And a store deleted for good is "nothing recorded", not the unlinked file's runs
    shutil.rmtree(path)
    assert (await get_json(jp_fetch, "runs"))["runs"] == []


@pytest.fixture
def read_only_mount(jp_root_dir: Path) -> Any:
    mounted: list[Path] = []

    def mount(folder: Path) -> None:
        if subprocess.run(
            ["mount", "--bind", str(folder), str(folder)], capture_output=True
        ).returncode:
            pytest.skip("bind mounts need root")
        mounted.append(folder)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)

    yield mount
    for folder in mounted:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


async def test_a_read_only_store_with_a_dead_running_run_is_readable(
    jp_fetch: Any, jp_root_dir: Path, read_only_mount: Any
) -> None:
    # Given a store whose run is "running" though its process has ended, on a read-only mount
    path = jp_root_dir / ".nbtrack"
    store = Store(str(path))
    session = uuid.uuid4().hex
    add_ended_process_session(store, session)
    rid = uuid.uuid4().hex
    store.create_run(
        {
            "id": rid,
            "name": "dead",
            "status": "running",
            "start_time": time.time(),
            "session_id": session,
        },
        "Default",
        {},
        {},
    )
    store.close()
    read_only_mount(path)
    # When the server lists it and the CLI lists and shows it
    page = await get_json(jp_fetch, "runs")
    detail = await get_json(jp_fetch, "runs", rid)
    runs = run_cli("runs", "--store", str(path))
    show = run_cli("show", rid, "--store", str(path))
    # Then each answers (the run as it is: nothing can be written), no SQL, no traceback
    assert [r["id"] for r in page["runs"]] == [rid]
    assert detail["id"] == rid and detail["status"] in ("running", "killed")
    assert runs.returncode == 0 and "dead" in runs.stdout, runs.stderr
    assert show.returncode == 0 and "Traceback" not in show.stderr, show.stderr


async def test_a_zombie_kernel_does_not_keep_its_run_running(
    jp_fetch: Any, jp_root_dir: Path
) -> None:
    # Given a process that recorded a running run and exited, and whose parent never reaps it
    path = jp_root_dir / ".nbtrack"
    code = (
        "import nbtrack\n"
        "run = nbtrack.start_run(name='zombie', log_system_metrics=False)\n"
        "run.flush()\n"
        "print(run.id, flush=True)\n"
        "import os; os._exit(0)\n"  # no end_run, as a kernel killed
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code],
        env={"NBTRACK_STORE": str(path), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        rid = child.stdout.readline().strip()
        for _ in range(200):
            state = Path(f"/proc/{child.pid}/status").read_text()
            if "State:\tZ" in state:
                break
            time.sleep(0.05)
        assert "State:\tZ" in state
        # When the server lists the runs (it checks liveness before listing)
        page = await get_json(jp_fetch, "runs")
        # Then the zombie's run is killed
        assert [(r["id"], r["status"]) for r in page["runs"]] == [(rid, "killed")]
    finally:
        child.wait()
