"""A session: one process (kernel or script) writing to one store, and what it captures
for its runs (environment, notebook revision, code snapshot, default experiment)."""

from __future__ import annotations

import getpass
import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbtrack.errors import warn_failure
from nbtrack.recording.pending import RETRY_WAIT, backlog, hot_wait, store_failed
from nbtrack.store import open_store
from nbtrack.store.failures import is_store_failure

if TYPE_CHECKING:
    from nbtrack.store import Store


class Session:
    """One process (kernel or script) writing to one store; kernels number their cells."""

    def __init__(self, store: Store, kind: str):
        from nbtrack.capture.system import process_start_time

        self.store = store
        self.kind = kind
        self.id = uuid.uuid4().hex
        self.seq = 0  # sequence number of the latest cell (kernels)
        self.current_seq: int | None = None  # the cell being executed (kernels), for log_metric
        self.last_snapshot: tuple[Any, float, str | None] | None = None  # (what, when, hash)
        self.env_hash: str | None = None
        self._env_bytes: bytes | None = None
        self.user_ns: dict[str, Any] | None = _shell_namespace() if kind == "kernel" else None
        store.add_session(
            {
                "id": self.id,
                "kind": kind,
                "started": time.time(),
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "pid_started": process_start_time(),
                "user": current_user(),
                "cwd": os.getcwd(),
            }
        )
        self._env_thread = threading.Thread(
            target=self._capture_env, name="nbtrack-env", daemon=True
        )
        self._env_thread.start()

    def _capture_env(self) -> None:
        try:
            from nbtrack.capture.environment import capture_environment, environment_bytes

            self._env_bytes = environment_bytes(capture_environment())
        except Exception as exc:
            warn_failure("could not capture the environment", exc)
            return
        self.flush(RETRY_WAIT)

    def flush(self, wait: float | None = RETRY_WAIT) -> bool:
        """Store the captured environment; while the store cannot take it, it waits in memory
        (in the backlog). True once nothing is left to write."""
        data = self._env_bytes
        if data is None:
            return True
        try:
            h = self.store.put_blob(data)
            self.store.set_session_env(self.id, h, wait=wait)
            self.env_hash, self._env_bytes = h, None
            return True
        except Exception as exc:
            capture_failed(self.store, "could not save the environment", exc)
            if is_store_failure(exc):
                backlog.keep(self)
            return False

    def environment(self, timeout: float = 10.0) -> str | None:
        self._env_thread.join(timeout)
        if self.env_hash is None and self._env_bytes is not None:
            self.flush(hot_wait(self.store))
        return self.env_hash

    @property
    def next_body_seq(self) -> int | None:
        if self.kind != "kernel":
            return None
        return self.seq if self.current_seq is not None else self.seq + 1

    def revision(self) -> dict[str, Any]:
        """The notebook's path, hash and git state, its content saved as a blob."""
        try:
            from nbtrack.capture.revision import capture_revision

            rev = capture_revision(self.notebook())
            if rev.get("notebook_content") is not None:
                self.store.put_blob(rev["notebook_content"])
            return {
                k: rev.get(k)
                for k in ("notebook_path", "notebook_hash", "git_commit", "git_diff_hash")
            }
        except Exception as exc:
            capture_failed(self.store, "could not capture the notebook revision", exc)
            return {}

    def notebook(self) -> str | None:
        """The notebook (or script) this session runs: as Jupyter or VS Code name it, else, in a
        kernel that nbclient or papermill started without naming it, the notebook of the working
        directory whose code cells include every cell the kernel ran."""
        from nbtrack.capture.revision import notebook_path

        path = notebook_path(self.user_ns)
        if path is not None or self.kind != "kernel" or not self.user_ns:
            return path
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
        if not history:
            return None
        from nbtrack.capture.notebook_match import find_notebook

        return find_notebook(os.getcwd(), history)

    def snapshot(self, notebook: str | None) -> str | None:
        """The run's code snapshot (``nbtrack.capture.snapshot``): imported local modules and the
        files of the notebook's directory (a kernel's working directory when the notebook is unknown)."""
        try:
            from nbtrack.capture.snapshot import capture_snapshot

            directory = (
                os.path.dirname(notebook)
                if notebook
                else os.getcwd()
                if self.kind == "kernel"
                else None
            )
            key = (directory, len(sys.modules))
            last = self.last_snapshot
            if last is not None and last[0] == key and time.monotonic() - last[1] < 1.0:
                return last[2]  # as the revision: runs ending within a second share one snapshot
            h = capture_snapshot(self.store, directory, list(sys.modules.values()))
            self.last_snapshot = (key, time.monotonic(), h)
            return h
        except Exception as exc:
            capture_failed(self.store, "could not capture the code snapshot", exc)
            return None

    def default_experiment(self) -> str:
        """A kernel's runs go to an experiment named after its notebook."""
        try:
            path = self.notebook()
            if path and self.kind == "kernel":
                return Path(path).stem
        except Exception:
            pass
        return "Default"


def _shell_namespace() -> dict[str, Any] | None:
    """The running IPython shell's namespace (IPython is never imported for this)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    ns = getattr(shell, "user_ns", None)
    return ns if isinstance(ns, dict) else None


def current_user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:
        return None


_sessions: dict[str, Session] = {}
_session_lock = threading.Lock()


def get_session(store: Store | None = None, kind: str = "script") -> Session:
    store = store or open_store()
    with _session_lock:
        sess = _sessions.get(store.url)
        if sess is None or sess.store is not store:
            sess = _sessions[store.url] = Session(store, kind)
        return sess


def capture_failed(store: Store, what: str, exc: Exception) -> None:
    if is_store_failure(exc):
        store_failed(store, what, exc)
    else:
        warn_failure(what, exc)
