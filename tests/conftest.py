"""Shared fixtures: a temporary store and real IPython kernels driven through jupyter_client."""

from __future__ import annotations

import functools
import os
import queue
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Nothing a test run does may land in a developer's own store: kernels started by nbval and
# by the tests inherit this unless a test chooses its own store.
os.environ["NBTRACK_STORE"] = os.path.join(tempfile.mkdtemp(prefix="nbtrack-tests-"), "store")


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh store directory, also made the default (NBTRACK_STORE) for this test."""
    path = tmp_path / "store"
    monkeypatch.setenv("NBTRACK_STORE", str(path))
    return path


class Kernel:
    """A real ipykernel; ``run`` executes a cell the way JupyterLab does (with a cell id)."""

    def __init__(self, cwd: Path, env: dict[str, str], args: list[str] | None = None):
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=str(cwd), env={**os.environ, **env}, extra_arguments=args or [])
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)

    def run(
        self, code: str, cell_id: str | None = None, timeout: float = 120, settle: bool = True
    ) -> dict[str, Any]:
        """Execute one cell; returns status, stdout, stderr, the text of results and errors.
        Returns once the kernel has also handled one more request (``settle``), as a user's
        next action would find it."""
        cell_id = cell_id or uuid.uuid4().hex[:8]
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": False,
        }
        msg = self.kc.session.msg("execute_request", content, metadata={"cellId": cell_id})
        self.kc.shell_channel.send(msg)
        msg_id = msg["header"]["msg_id"]
        out: dict[str, Any] = {
            "stdout": "",
            "stderr": "",
            "result": None,
            "error": None,
            "cell_id": cell_id,
            "displays": [],
        }
        while True:
            try:
                m = self.kc.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(f"no reply from the kernel for {code!r}") from None
            if m["parent_header"].get("msg_id") != msg_id:
                continue
            kind, c = m["msg_type"], m["content"]
            if kind == "stream":
                out[c["name"]] += c["text"]
            elif kind == "display_data":
                out["displays"].append(c["data"])
            elif kind == "execute_result":
                out["result"] = c["data"].get("text/plain")
            elif kind == "error":
                out["error"] = c["ename"]
            elif kind == "status" and c["execution_state"] == "idle":
                break
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)
        out["status"] = reply["content"]["status"]
        out["execution_count"] = reply["content"].get("execution_count")
        if settle:
            self.settle(timeout)
        return out

    def settle(self, timeout: float = 120) -> None:
        """Wait until the kernel has handled one more request: nbtrack records a cell once its
        reply is sent, before the kernel handles the next request (README, "What is recorded"),
        so the store now holds the cell's record."""
        msg_id = self.kc.kernel_info()
        reply = self.kc.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=timeout)

    def ok(self, code: str) -> dict[str, Any]:
        out = self.run(code)
        assert out["status"] == "ok", f"cell failed: {code!r}: {out}"
        assert "NbtrackWarning" not in out["stderr"], out["stderr"]
        return out

    def shutdown(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture
def start_kernel(tmp_path: Path, store_dir: Path) -> Iterator[Any]:
    """``start_kernel(**env)`` starts a real kernel in ``tmp_path`` writing to ``store_dir``."""
    kernels: list[Kernel] = []

    def start(**env: str) -> Kernel:
        k = Kernel(tmp_path, {"NBTRACK_STORE": str(store_dir), **env})
        kernels.append(k)
        return k

    yield start
    for k in kernels:
        k.shutdown()


@pytest.fixture
def kernel(start_kernel: Any) -> Kernel:
    """A real kernel with ``%load_ext nbtrack`` already run."""
    k = start_kernel()
    k.ok("%load_ext nbtrack")
    return k


def add_ended_process_session(store: Any, session_id: str) -> None:
    """A script session on this host whose process has ended: its running runs are dead."""
    import socket
    import subprocess

    import psutil

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    created = psutil.Process(proc.pid).create_time()
    proc.wait()
    store.add_session(
        {
            "id": session_id,
            "kind": "script",
            "started": 1.0,
            "host": socket.gethostname(),
            "pid": proc.pid,
            "pid_started": created,
        }
    )


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Any:
    """Run the ``nbtrack`` command as a user would."""
    import subprocess

    return subprocess.run(
        [sys.executable, "-m", "nbtrack.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """A real PostgreSQL server on loopback for the session (see tests/pg.py); skipped if not installed."""
    from pg import PostgresServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (scripts/test installs Debian's postgresql)")
    server = PostgresServer(bindir)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: Any) -> str:
    """The URL (with a password) of a fresh, empty PostgreSQL database for this test."""
    return str(pg_server.create_database())


BROWSER_GROUP = "browser"


@functools.cache
def xdist_group(path: Path) -> str:
    """What runs on one pytest-xdist worker, in order: a file (so a notebook's cells share
    nbval's kernel and a module's shared servers start once), and one group for every module
    driving JupyterLab in Chromium (tests/browser.py), so one Lab and one browser run at a time
    while the other worker takes the rest."""
    if path.suffix == ".py" and "from tests.browser import" in path.read_text():
        return BROWSER_GROUP
    return str(path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` (pyproject's addopts) by :func:`xdist_group`: a file at a time, the
    browser modules together."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class GroupScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(config.rootpath / super()._split_scope(nodeid))

    return GroupScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that start real kernels, and the example notebooks (nbval), belong to the slow set.

    The long xdist groups go first so the two workers end together (pyproject's addopts keep
    this order: ``--no-loadscope-reorder``): the browser group, then files with a slow test, then
    the rest, each in collection order."""
    for item in items:
        if item.path.suffix == ".ipynb" or {"kernel", "start_kernel"} & set(
            getattr(item, "fixturenames", ())
        ):
            item.add_marker(pytest.mark.slow)
    slow = {xdist_group(i.path) for i in items if i.get_closest_marker("slow")}

    def rank(item: pytest.Item) -> int:
        group = xdist_group(item.path)
        return 0 if group == BROWSER_GROUP else 1 if group in slow else 2

    items.sort(key=rank)  # stable: a file's tests stay together and in order
