"""Runs and the MLflow-like logging API: ``start_run``, ``log_metric``, ``log_param``, ...

Points are buffered in memory and made durable at the end of every cell (kernel), at
``end_run`` and by a background flusher twice a second, so logging costs microseconds. What
the store cannot take meanwhile waits in the run, or in ``pending.backlog`` once it ended.
"""

from __future__ import annotations

import atexit
import collections
import getpass
import io
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from . import validation as v
from .errors import NbtrackError, ValidationError, warn_failure
from .pending import (
    RETRY_WAIT,
    WRITE_WAIT,
    background_check,
    backlog,
    hot_wait,
    in_kernel,
    is_store_failure,
    store_failed,
    store_failing,
    store_recovered,
)
from .store import Store, open_store

FLUSH_INTERVAL = 0.5
SYSTEM_INTERVAL = float(os.environ.get("NBTRACK_SYSTEM_METRICS_INTERVAL", "5"))
MAX_BUFFER = 100_000
MAX_PENDING_ARTIFACT_BYTES = 256 * 2**20

Point = tuple[str, float, int, float, "int | None"]


class Session:
    """One process (kernel or script) writing to one store; kernels number their cells."""

    def __init__(self, store: Store, kind: str):
        import psutil

        self.store = store
        self.kind = kind
        self.id = uuid.uuid4().hex
        self.seq = 0  # sequence number of the latest cell (kernels)
        self.current_seq: int | None = None  # the cell being executed (kernels), for log_metric
        self.last_snapshot: tuple[Any, float, str | None] | None = None  # (what, when, hash)
        self.env_hash: str | None = None
        self._env_bytes: bytes | None = None
        self.user_ns: dict[str, Any] | None = None
        store.add_session(
            {
                "id": self.id,
                "kind": kind,
                "started": time.time(),
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "pid_started": psutil.Process().create_time(),
                "user": _user(),
                "cwd": os.getcwd(),
            }
        )
        self._env_thread = threading.Thread(target=self._capture_env, name="nbtrack-env", daemon=True)
        self._env_thread.start()

    def _capture_env(self) -> None:
        try:
            from .capture.environment import capture_environment, environment_bytes

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
            _capture_failed(self.store, "could not save the environment", exc)
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


def _user() -> str | None:
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


class Run:
    """A run: use as a context manager, or call :meth:`end`. Log through its methods or the
    module-level functions, which log to the innermost active run."""

    def __init__(
        self,
        session: Session,
        name: str | None,
        experiment: str,
        parent: Run | None,
        system_metrics: bool,
        run_id: str | None = None,
    ):
        self.session = session
        self.store = session.store
        self.id = run_id or uuid.uuid4().hex
        self.name = name or f"run-{self.id[:8]}"
        self.experiment = experiment
        self.parent_id = parent.id if parent else None
        self.system_metrics = system_metrics
        self.status = "running"
        self.start_seq = session.next_body_seq
        self._points: collections.deque[Point] = collections.deque()
        self._params: dict[str, str] = {}
        self._tags: dict[str, str] = {}
        self._steps: dict[str, int] = {}
        self._system_step = 0
        self._failing = False
        self._flush_lock = threading.Lock()
        # Kept in memory while the store cannot be written: the run row itself, artifacts,
        # input events and the closing update (see flush).
        self._create: tuple[dict[str, Any], str, dict[str, str], dict[str, str]] | None = None
        self._artifacts: list[tuple[str, bytes]] = []
        self._pending_bytes = 0
        self._inputs: list[dict[str, Any]] = []
        self._end_values: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<nbtrack.Run {self.id[:8]} {self.name!r} experiment={self.experiment!r} status={self.status}>"

    def _repr_markdown_(self) -> str:
        return f"**nbtrack run** `{self.id}` · {self.name} · experiment *{self.experiment}* · {self.status}"

    # -- logging -------------------------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        k, val = v.check_param(key, value)
        self._params[k] = val

    def log_params(self, params: Mapping[str, Any]) -> None:
        checked = [v.check_param(k, val) for k, val in v.check_mapping("params", params).items()]
        self._params.update(checked)

    def set_tag(self, key: str, value: Any) -> None:
        k, val = v.check_tag(key, value)
        self._tags[k] = val

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        checked = [v.check_tag(k, val) for k, val in v.check_mapping("tags", tags).items()]
        self._tags.update(checked)

    def log_metric(self, key: str, value: Any, step: int | None = None, timestamp: Any = None) -> None:
        if key not in self._steps:
            v.check_name("metric", key)
        value = v.check_metric_value(key, value) if type(value) is not float else value
        if step is None:
            step = self._steps.get(key, -1) + 1
        elif type(step) is not int or not -(2**63) <= step < 2**63:
            step = v.check_step(key, step)
        self._steps[key] = step
        ts = time.time() if timestamp is None else v.check_timestamp(timestamp)
        self._points.append((key, value, step, ts, self.session.current_seq))
        if len(self._points) >= MAX_BUFFER:
            self.flush()
        if _metric_listeners:
            _notify(self.id, key, value, step, ts)

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None, timestamp: Any = None) -> None:
        items = list(v.check_mapping("metrics", metrics).items())
        for key, _ in items:
            v.check_name("metric", key)
        ts = time.time() if timestamp is None else v.check_timestamp(timestamp)
        for key, value in items:
            self.log_metric(key, value, step, ts)

    def log_artifact(self, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
        """Store a file (or every file of a directory) as artifacts; returns the artifact path."""
        src = Path(local_path)
        if not src.exists():
            raise ValidationError(f"artifact {str(src)!r} does not exist")
        base = _artifact_name(artifact_path or src.name)
        if src.is_dir():
            for f in sorted(p for p in src.rglob("*") if p.is_file() and not p.is_symlink()):
                self._put_artifact(f"{base}/{f.relative_to(src).as_posix()}", f.read_bytes())
        else:
            self._put_artifact(base, src.read_bytes())
        return base

    def log_text(self, text: str, artifact_file: str) -> None:
        if not isinstance(text, str):
            raise ValidationError(f"log_text needs a str, got {type(text).__name__}")
        self._put_artifact(_artifact_name(artifact_file), text.encode("utf-8", "backslashreplace"))

    def log_dict(self, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        name = _artifact_name(artifact_file)
        try:
            if name.endswith((".yaml", ".yml")):
                import yaml  # type: ignore[import-untyped]

                data = yaml.safe_dump(dict(dictionary)).encode()
            else:
                data = json.dumps(dictionary, indent=2, sort_keys=True, default=str).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            raise ValidationError(f"log_dict could not serialise {artifact_file!r}: {exc}") from None
        except ImportError:
            raise ImportError("logging YAML needs PyYAML: pip install pyyaml") from None
        self._put_artifact(name, data)

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        """A matplotlib figure (png/svg/pdf by extension) or an Altair chart (html/json/png/svg)."""
        name = _artifact_name(artifact_file)
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if hasattr(figure, "savefig"):
            buf = io.BytesIO()
            figure.savefig(buf, format=ext or "png")
            data = buf.getvalue()
        elif hasattr(figure, "to_dict") and hasattr(figure, "to_json"):
            if ext == "json":
                data = figure.to_json().encode()
            elif ext in ("png", "svg"):
                buf = io.BytesIO()
                figure.save(buf, format=ext)  # needs vl-convert-python
                data = buf.getvalue()
            else:
                data = figure.to_html().encode()
        else:
            raise ValidationError(f"log_figure takes a matplotlib figure or an Altair chart, got {type(figure).__name__}")
        self._put_artifact(name, data)

    def log_input(self, path: str | os.PathLike[str], name: str | None = None) -> str:
        """Declare a data file this run reads; its content hash is recorded. Returns the hash."""
        p = Path(path)
        if not p.is_file():
            raise ValidationError(f"input {str(p)!r} is not a readable file")
        from .store.blobs import content_hash

        data = p.read_bytes()
        h = content_hash(data)
        self._inputs.append(
            {"session_id": self.session.id, "seq": self.session.current_seq, "run_id": self.id,
             "path": str(p.resolve()), "mode": "input", "hash": h, "size": len(data)}
        )
        self.flush(hot_wait(self.store))
        if name:
            self.set_tag(f"input.{v.check_name('input', name)}", h)
        return h

    def _put_artifact(self, path: str, data: bytes) -> None:
        if self._create is not None and not self._failing:
            self.flush(hot_wait(self.store))  # the run's row first: an artifact row points at it
        if self._create is None and not self._artifacts and not store_failing(self.store):
            try:
                self.store.add_artifact(self.id, path, data, wait=WRITE_WAIT)
                return
            except Exception as exc:
                if not is_store_failure(exc):
                    raise
                store_failed(self.store, f"could not save artifact {path!r} of run {self.id[:8]}", exc)
        if self._pending_bytes + len(data) > MAX_PENDING_ARTIFACT_BYTES:
            warn_failure(
                f"artifact {path!r} of run {self.id[:8]} was not saved: the store is not writable and "
                f"{MAX_PENDING_ARTIFACT_BYTES // 2**20} MB of artifacts already wait in memory"
            )
            return
        self._artifacts.append((path, data))
        self._pending_bytes += len(data)

    # -- persistence ---------------------------------------------------------------------
    def flush(self, wait: float | None = RETRY_WAIT) -> bool:
        """Write everything kept in memory (the run row if it could not be created, artifacts,
        params, tags, points, the closing update), waiting at most about ``wait`` seconds for
        the store. On failure keep it all, warn once per outage and return False."""
        if not self._flush_lock.acquire(timeout=-1 if wait is None else wait):
            return False  # another thread is writing this run right now
        try:
            self._write_pending(wait)
        except Exception as exc:
            self._failing = True
            store_failed(self.store, f"could not save run {self.id[:8]}", exc)
            return False
        finally:
            self._flush_lock.release()
        if self._failing:
            self._failing = False
            store_recovered(self.store)
        return True

    def _write_pending(self, wait: float | None) -> None:
        if self._create is not None:
            row, experiment, params, tags = self._create
            # an ended run with nothing else to write is created closed, in one transaction
            closing = None if (self._points or self._params or self._tags or self._artifacts) else self._end_values
            self.store.create_run({**row, **(closing or {})}, experiment, params, tags, wait=wait)
            self._create = None
            if closing is not None:
                self._end_values = None
        while self._artifacts:
            path, data = self._artifacts[0]
            self.store.add_artifact(self.id, path, data, wait=wait)
            self._artifacts.pop(0)
            self._pending_bytes -= len(data)
        if self._inputs:
            self.store.add_file_events(self._inputs, wait=wait)
            self._inputs = []
        if self._points or self._params or self._tags:
            n = len(self._points)
            points = [self._points.popleft() for _ in range(n)]
            params, self._params = self._params, {}
            tags, self._tags = self._tags, {}
            try:
                self.store.write(lambda conn: self.store.write_batch(conn, self.id, params, tags, points), wait=wait)
            except BaseException:
                self._points.extendleft(reversed(points))
                self._params = {**params, **self._params}
                self._tags = {**tags, **self._tags}
                raise
        if self._end_values is not None:
            self.store.update_run(self.id, wait=wait, **self._end_values)
            self._end_values = None

    def _sample_system(self) -> None:
        try:
            from .capture.system import sample_system

            sample = sample_system()
        except Exception:
            return
        ts = time.time()
        for key, value in sample.items():
            self._points.append((key, value, self._system_step, ts, None))
        self._system_step += 1

    def end(self, status: str = "finished") -> None:
        if status not in ("finished", "failed", "killed"):
            raise ValidationError(f"run status must be finished, failed or killed, got {status!r}")
        if self.status != "running":
            return
        self.status = status
        end_time = time.time()
        _unregister(self)
        try:
            extra = _revision(self.session)
            self._end_values = dict(
                status=status,
                end_time=end_time,
                end_seq=self.session.seq if self.session.kind == "kernel" else None,
                env_hash=self.session.environment(),
                snapshot_hash=_snapshot(self.session, extra.get("notebook_path")),
                **extra,
            )
        except Exception as exc:
            warn_failure(f"could not close run {self.id[:8]}", exc)
            self._end_values = {"status": status, "end_time": end_time}
        saved = self.flush(hot_wait(self.store))
        if not saved and not store_failing(self.store):
            saved = self.flush(RETRY_WAIT)  # the flusher thread held the run: wait for it, not the store
        if not saved:
            backlog.keep(self)  # closed when the store is writable again

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.end("finished")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end("killed")
        else:
            self.end("failed")


def _artifact_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"artifact path must be a non-empty string, got {name!r:.80}")
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or name.startswith(("/", "\\")) or ":" in parts[0]:
        raise ValidationError(f"artifact path {name!r} must be relative and stay inside the run (no '..', no leading '/')")
    return "/".join(parts)


def _revision(session: Session) -> dict[str, Any]:
    try:
        from .capture.revision import capture_revision, notebook_path

        rev = capture_revision(notebook_path(session.user_ns))
        if rev.get("notebook_content") is not None:
            session.store.put_blob(rev["notebook_content"])
        return {k: rev.get(k) for k in ("notebook_path", "notebook_hash", "git_commit", "git_diff_hash")}
    except Exception as exc:
        _capture_failed(session.store, "could not capture the notebook revision", exc)
        return {}


def _capture_failed(store: Store, what: str, exc: Exception) -> None:
    if is_store_failure(exc):
        store_failed(store, what, exc)
    else:
        warn_failure(what, exc)


def _snapshot(session: Session, notebook: str | None) -> str | None:
    """The run's code snapshot (``nbtrack.capture.snapshot``): imported local modules and the
    files of the notebook's directory (a kernel's working directory when the notebook is unknown)."""
    try:
        import sys

        from .capture.snapshot import capture_snapshot

        directory = os.path.dirname(notebook) if notebook else os.getcwd() if session.kind == "kernel" else None
        key = (directory, len(sys.modules))
        last = session.last_snapshot
        if last is not None and last[0] == key and time.monotonic() - last[1] < 1.0:
            return last[2]  # as the revision: runs ending within a second share one snapshot
        h = capture_snapshot(session.store, directory, list(sys.modules.values()))
        session.last_snapshot = (key, time.monotonic(), h)
        return h
    except Exception as exc:
        _capture_failed(session.store, "could not capture the code snapshot", exc)
        return None


# -- the active-run stack and the background flusher ----------------------------------------
_active: list[Run] = []
_lock = threading.Lock()
_flusher: threading.Thread | None = None
_metric_listeners: list[Callable[[str, str, float, int, float], None]] = []


def _register(run: Run) -> None:
    global _flusher
    with _lock:
        _active.append(run)
        if _flusher is None:
            _flusher = threading.Thread(target=_flush_loop, name="nbtrack-flusher", daemon=True)
            _flusher.start()


def _unregister(run: Run) -> None:
    with _lock:
        if run in _active:
            _active.remove(run)


def _flush_loop() -> None:
    last_sample = 0.0
    while True:
        time.sleep(FLUSH_INTERVAL)
        now = time.time()
        sample = now - last_sample >= SYSTEM_INTERVAL
        if sample:
            last_sample = now
        for run in list(_active):
            try:
                if sample and run.system_metrics:
                    run._sample_system()
                run.flush()
            except Exception as exc:  # never let the thread die
                warn_failure("background flush failed", exc)
        background_check()


def flush_active(wait: float | None = RETRY_WAIT) -> None:
    """Write what every open run keeps in memory (the kernel calls this after each cell)."""
    for run in list(_active):
        run.flush(wait)


def add_metric_listener(fn: Callable[[str, str, float, int, float], None]) -> None:
    """Call ``fn(run_id, key, value, step, timestamp)`` on every logged point (live charts)."""
    _metric_listeners.append(fn)


def remove_metric_listener(fn: Callable[[str, str, float, int, float], None]) -> None:
    if fn in _metric_listeners:
        _metric_listeners.remove(fn)


def _notify(run_id: str, key: str, value: float, step: int, ts: float) -> None:
    for fn in list(_metric_listeners):
        try:
            fn(run_id, key, value, step, ts)
        except Exception as exc:
            remove_metric_listener(fn)
            warn_failure("a live metric listener failed and was removed", exc)


@atexit.register
def _end_at_exit() -> None:
    """Runs still open when a script exits have finished; in a kernel, shutting it down or
    restarting it cut them short: killed."""
    for run in reversed(list(_active)):
        try:
            run.end("killed" if run.session.kind == "kernel" else "finished")
        except Exception:
            pass
    backlog.flush(RETRY_WAIT, of=Run)
    for left in backlog.items(of=Run):  # said out loud: these records die with the process
        assert isinstance(left, Run)
        warn_failure(
            f"run {left.id[:8]} could not be saved before exit: {len(left._points):,} metric points, "
            f"{len(left._params)} params, {len(left._tags)} tags, {len(left._artifacts)} artifacts are lost"
        )


# -- module-level API ------------------------------------------------------------------------
def start_run(
    name: str | None = None,
    experiment: str | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    description: str | None = None,
    nested: bool = True,
    log_system_metrics: bool = True,
    store: str | os.PathLike[str] | Store | None = None,
    run_id: str | None = None,
) -> Run:
    """Start a run (a child of the active run, if any). Use ``with start_run(...) as run:`` or
    call :func:`end_run`. ``run_id`` chooses the new run's id (hex); it must not exist yet."""
    st = store if isinstance(store, Store) else open_store(store)
    session = get_session(st, "kernel" if in_kernel(st) else "script")
    if name is not None:
        name = v.check_label("run name", name)
    if experiment is None:
        experiment = _default_experiment(session)
    experiment = v.check_label("experiment name", experiment)
    if run_id is not None and (len(run_id) != 32 or any(c not in "0123456789abcdef" for c in run_id)):
        raise ValidationError(f"run_id must be 32 lowercase hex characters, got {run_id!r}")
    parent = _active[-1] if _active and nested else None
    run = Run(session, name, experiment, parent, log_system_metrics, run_id)
    checked_params = dict(v.check_param(k, val) for k, val in v.check_mapping("params", params or {}).items())
    checked_tags = dict(v.check_tag(k, val) for k, val in v.check_mapping("tags", tags or {}).items())
    row = {
        "id": run.id,
        "name": run.name,
        "status": "running",
        "start_time": time.time(),
        "user": _user(),
        "session_id": session.id,
        "start_seq": run.start_seq,
        "parent_run_id": run.parent_id,
        "notes": description,
        **_revision(session),
    }
    # Written with the run's first flush (at the cell's end, by the flusher within 0.5 s, or
    # at end_run, in one transaction with the closing values): a run costs one write, not two.
    run._create = (row, experiment, checked_params, checked_tags)
    _register(run)
    return run


def _default_experiment(session: Session) -> str:
    try:
        from .capture.revision import notebook_path

        path = notebook_path(session.user_ns)
        if path and session.kind == "kernel":
            return Path(path).stem
    except Exception:
        pass
    return "Default"


def active_run() -> Run | None:
    return _active[-1] if _active else None


def _current() -> Run:
    """The innermost active run; like MLflow, one is started if there is none."""
    return _active[-1] if _active else start_run()


def end_run(status: str = "finished") -> None:
    """End the innermost active run."""
    if not _active:
        raise NbtrackError("no active run to end")
    _active[-1].end(status)


def log_param(key: str, value: Any) -> None:
    _current().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _current().log_params(params)


def set_tag(key: str, value: Any) -> None:
    _current().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _current().set_tags(tags)


def log_metric(key: str, value: Any, step: int | None = None, timestamp: Any = None) -> None:
    (_active[-1] if _active else _current()).log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, Any], step: int | None = None, timestamp: Any = None) -> None:
    _current().log_metrics(metrics, step, timestamp)


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> str:
    return _current().log_artifact(local_path, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    _current().log_text(text, artifact_file)


def log_dict(dictionary: Mapping[str, Any], artifact_file: str) -> None:
    _current().log_dict(dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    _current().log_figure(figure, artifact_file)


def log_input(path: str | os.PathLike[str], name: str | None = None) -> str:
    return _current().log_input(path, name)
