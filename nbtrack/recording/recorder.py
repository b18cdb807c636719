"""The IPython extension: records every cell execution and the kernel state after it.

The store is opened in a thread started by ``%load_ext``, so loading costs neither the
SQLAlchemy import nor the store's opening: the loading cell's record waits in memory until
the store is open, and the next cell waits for the opening only if it has not finished.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import os
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

from nbtrack.errors import (
    defer_thread_warnings,
    deferred,
    emit_deferred,
    later_warnings,
    warn_failure,
)
from nbtrack.recording import active, pending
from nbtrack.recording.session import Session, get_session
from nbtrack.store import CellRecord, FileEvent, open_store, resolve_url
from nbtrack.store.failures import is_duplicate, is_store_failure
from nbtrack.store.urls import make_store_dir
from nbtrack.validation import redact_track_line

if TYPE_CHECKING:
    from nbtrack.store import Store

MAX_PENDING_CELLS = 10_000
# When a cell's record is made, relative to the kernel's reply (NBTRACK_RECORD); the first is the default.
RECORD_MODES = ("after-reply", "before-reply")
# The state hash of a variable whose hashing did not finish (interrupted, or its pickling raised).
INCOMPLETE = "incomplete"


class Recorder:
    """Hooks ``pre_run_cell`` / ``post_run_cell``; everything it does is guarded so that a
    failure here is one warning line and never the user's problem."""

    # Set by the opening thread (:meth:`_open`); the kernel's thread reads them after
    # :meth:`_wait_open`, or for the loading cell, under ``_early_lock``.
    store: Store
    session: Session
    cells: CellQueue

    def __init__(self, ip: Any, store: str | None = None):
        from nbtrack.capture.hashing import StateHasher
        from nbtrack.capture.lineage import FileTracker

        self.ip = ip
        url = resolve_url(store)
        if "://" not in url or url.startswith("sqlite"):
            # a folder that cannot be made is said by the loading cell, as before the store
            # was opened in a thread; what only opening finds is said by the next cell
            make_store_dir(url.removeprefix("sqlite:///"))
        pending.mark_kernel_url(url)  # a run started before the store is open is the kernel's
        self.after_reply = _records_after_reply()  # see _finish_due
        self.hasher = StateHasher()
        self.state: dict[str, str] = {}
        self._hashed: dict[str, str] | None = None  # the state as the hasher last gave it
        self.files = FileTracker(exclude=_store_dirs(url))
        self.depth = 0
        self.info: Any = None
        self.numbered = False  # the cell running now has its number (the store is open)
        self.started = 0.0
        # Cells ended before the store was open (the loading cell): recorded, numbered later.
        self._early: list[CellRecord] = []
        self._early_lock = threading.Lock()
        self._ready = False  # the store is open and the early records are handed over
        self._open_error: BaseException | None = None
        self._done = threading.Event()  # the opening thread has finished, opened or not
        self._history: list[str] = []
        # A cell ended whose record is made after the kernel's reply (:meth:`_finish_due`).
        self._due: tuple[Any, Any, float] | None = None
        self._opener = threading.Thread(
            target=self._open, args=(url,), name="nbtrack-open", daemon=True
        )
        atexit.register(self._flush_at_exit)

    def _flush_at_exit(self) -> None:
        # first, as IPython's exit function runs next: it clears the namespace so that the
        # user's objects are finalised (an unclosed file writes its buffer)
        self._finish_due()
        self.let_go()
        if self._opener.ident is not None:  # a kernel stopped right after %load_ext
            self._done.wait(10.0)
        if self._ready:
            self.cells.flush(1.0)

    def let_go(self) -> None:
        """Drop the state hasher's references to the user's objects (it holds them to know them
        again): once recording stops, they are freed and finalised as without nbtrack. The next
        recorded cell, if any, hashes every variable afresh."""
        self.hasher = type(self.hasher)()

    def adopt_current_cell(self) -> None:
        """Record the cells run before the extension was loaded (sources from IPython's history,
        status ``history``) and the loading cell itself, so the sequence starts at the kernel's
        start. The opening thread (:meth:`start_opening`) writes them."""
        from types import SimpleNamespace

        hist = list(self.ip.history_manager.input_hist_raw)
        self._history = hist[1:-1]
        if len(hist) > 1:
            header = getattr(self.ip, "parent_header", None) or {}
            cell_id = (header.get("metadata") or {}).get("cellId")
            self.pre_run_cell(SimpleNamespace(raw_cell=hist[-1], cell_id=cell_id))

    def start_opening(self) -> None:
        """Open the store in a thread (:meth:`_open`); from now on each cell waits for it."""
        if self._opener.ident is None:
            self._opener.start()

    def _open(self, url: str) -> None:
        """The opening thread: open the store, start the session, write the cells run before
        nbtrack was loaded and the records of cells that ended meanwhile, in order."""
        try:
            self._open_and_catch_up(url)
        finally:
            self._done.set()

    def _open_and_catch_up(self, url: str) -> None:
        from nbtrack.capture.lineage import untracked

        try:
            with untracked():  # the store's own files are not the user's data
                store = open_store(url)
                pending.mark_kernel_store(store)
                session = get_session(store, "kernel")
                session.user_ns = self.ip.user_ns
                self.files.exclude_also([getattr(store, "root", None), store.blobs.root])
                self.store, self.session, self.cells = store, session, CellQueue(store)
        except BaseException as exc:
            self._open_error = exc
            return
        try:
            self._record_history(store, session)
        except Exception as exc:
            warn_failure("could not record the cells run before nbtrack was loaded", exc)
        while True:
            with self._early_lock:
                early, self._early = self._early, []
                if not early:
                    self._ready = True
                    return
            for record in early:
                try:
                    session.seq += 1
                    self.cells.save(_numbered(record, session.id, session.seq))
                except Exception as exc:
                    warn_failure(f"could not record cell {record.execution_count}", exc)

    def _record_history(self, store: Store, session: Session) -> None:
        now = time.time()
        for count, source in enumerate(self._history, start=1):
            if source.strip():
                session.seq += 1
                store.record_cell(
                    CellRecord(
                        session.id,
                        session.seq,
                        source,
                        now,
                        now,
                        "history",
                        execution_count=count,
                        notebook_path=_notebook_path(self.ip.user_ns),
                    )
                )

    def _wait_open(self) -> bool | None:
        """Wait for the opening thread (on the kernel's thread): True once the store is open;
        False if recording is off because it could not be opened (said once, as one warning
        line); None if the user interrupted the wait: the cell is then interrupted as they
        asked, and recorded once the store is open, like the loading cell."""
        if self._ready:
            return True
        if not self._done.is_set():
            try:
                self._done.wait()  # (not Thread.join: interrupted, it can leave is_alive() wrong)
            except KeyboardInterrupt:
                _interrupt_cell(self.ip)
                return None
        if self._open_error is None:
            return True
        exc, self._open_error = self._open_error, None
        self.unregister()
        _forget(self)
        if isinstance(exc, Exception):
            warn_failure("recording is off: could not open the store", exc)
        return False

    def register(self) -> None:
        # before any code runs, silent requests included: the last cell's record, if still due
        self.ip.events.register("pre_execute", self._finish_due)
        self.ip.events.register("pre_run_cell", self.pre_run_cell)
        self.ip.events.register("post_run_cell", self.post_run_cell)
        self.files.start()
        defer_thread_warnings(True)  # background threads' warnings go to the next cell

    def unregister(self) -> None:
        self._finish_due()
        for name, fn in (
            ("pre_execute", self._finish_due),
            ("pre_run_cell", self.pre_run_cell),
            ("post_run_cell", self.post_run_cell),
        ):
            try:
                self.ip.events.unregister(name, fn)
            except ValueError:
                pass
        self.files.stop()
        defer_thread_warnings(False)

    def pre_run_cell(self, info: Any) -> None:
        # nbtrack's hook time is its own: nothing raised in it (an interrupt, a SystemExit from
        # a user object's pickling) reaches IPython, which would print "Error in callback"
        try:
            self._pre_run_cell(info)
        except BaseException as exc:
            _hook_failed("could not prepare the recording of a cell", exc)

    def _pre_run_cell(self, info: Any) -> None:
        opened = self._wait_open() if self._opener.ident is not None else None
        if opened is False:
            return  # recording is off
        if deferred:
            emit_deferred()  # what background threads found since the last cell
        self.depth += 1
        if self.depth > 1:
            return
        self.info = info
        self.numbered = bool(opened)  # else numbered once the store is open (the loading cell)
        if opened:
            self.session.seq += 1
            self.session.current_seq = self.session.seq
        self.files.take()  # forget opens from before this cell
        self.started = time.time()

    def post_run_cell(self, result: Any) -> None:
        try:
            self._post_run_cell(result)
        except BaseException as exc:  # see pre_run_cell
            self.info = None
            _hook_failed(f"could not record cell {result.execution_count}", exc)

    def _post_run_cell(self, result: Any) -> None:
        self.depth = max(0, self.depth - 1)
        if self.depth > 0 or self.info is None:
            return
        ended = time.time()
        if not self.numbered:  # the loading cell, while the store is being opened
            self._post_early_cell(result, ended)
            return
        self.session.current_seq = None
        loop = _kernel_loop(self.ip) if self.after_reply else None
        if loop is None:
            self._finish(result, ended)
            if deferred:
                emit_deferred()
        else:  # hashed and written once the reply is sent, before the next request is handled
            self._due = (self.info, result, ended)
            loop.call_soon(self._finish_due, True)

    def _finish_due(self, replied: bool = False) -> None:
        """Make and write the record of the cell that ended last, if it is still due; its
        warnings are shown in the next cell (the cell's output is closed by now). ``replied``:
        called once the kernel has handed the cell's reply and idle status to its threads."""
        if self._due is None:
            return
        self.info, result, ended = self._due
        self._due = None
        ignored = None
        with later_warnings():
            try:
                if replied:
                    _wait_iopub(self.ip)
                    # ipykernel ignores interrupts between requests; the user's still stops this
                    ignored = signal.signal(signal.SIGINT, signal.default_int_handler)
                try:
                    self._finish(result, ended)
                finally:
                    if ignored is not None:
                        signal.signal(signal.SIGINT, ignored)
            except BaseException as exc:  # see pre_run_cell
                if ignored is not None:  # an interrupt that came before the handler was put back
                    signal.signal(signal.SIGINT, ignored)
                self.info = None
                _hook_failed(f"could not record cell {result.execution_count}", exc)

    def _finish(self, result: Any, ended: float) -> None:
        try:
            record = self._record(result, ended, self.session.id, self.session.seq)
            if pending.backlog:  # what earlier cells and runs could not write goes first
                pending.backlog.flush(pending.hot_wait(self.store))
            self.cells.save(record)
        except BaseException as exc:
            _hook_failed(f"could not record cell {result.execution_count}", exc)
        try:
            active.flush_active(pending.hot_wait(self.store))
        except BaseException as exc:
            _hook_failed("could not save logged metrics", exc)
        self.info = None
        pending.check_grace()

    def _post_early_cell(self, result: Any, ended: float) -> None:
        try:
            record = self._keep_early(self._record(result, ended, "", 0))
            if record is not None:
                self.cells.save(record)
        except BaseException as exc:
            _hook_failed(f"could not record cell {result.execution_count}", exc)
        self.info = None
        if deferred:
            emit_deferred()

    def _keep_early(self, record: CellRecord) -> CellRecord | None:
        """A record made while the store was being opened (numbered 0): handed to the opening
        thread, which numbers and writes it (None); or, if the store opened meanwhile, numbered
        here and returned to be written as any other."""
        with self._early_lock:
            if not self._ready:
                self._early.append(record)
                return None
        self.session.seq += 1
        return _numbered(record, self.session.id, self.session.seq)

    def _record(self, result: Any, ended: float, session_id: str, seq: int) -> CellRecord:
        from nbtrack.capture.hashing import cell_names

        raw = redact_track_line(self.info.raw_cell)
        touched: set[str] | None = None
        rebound: set[str] = set()
        if not result.error_before_exec:
            try:
                # plain Python needs no IPython transform (only magics, ! and ? fail to parse)
                touched, rebound = cell_names(raw)
                if touched is None:
                    touched, rebound = cell_names(self.ip.transform_cell(raw))
            except Exception:
                touched, rebound = None, set()
        old = self.state
        complete = old is self._hashed  # the last state came whole from the hasher
        try:
            ns, hidden = self.ip.user_ns, self.ip.user_ns_hidden
            new = self.hasher.hash_namespace(ns, touched, hidden, rebound)
            self._hashed = new
        except BaseException as exc:  # an interrupt while hashing, or a value whose hashing raised
            new = self._incomplete_state(touched)
            _hook_failed(
                "the state after this cell is recorded incomplete: hashing the variables was stopped",
                exc,
            )
        if complete and new is self._hashed and self.hasher.same_names:
            # the same names as after the last cell, fully hashed: only those hashed again differ
            created, deleted = [], []
            changed = [n for n in self.hasher.hashed_names if old.get(n) != new[n]]
            if len(changed) > 1:
                changed.sort(key={n: i for i, n in enumerate(new)}.__getitem__)
        else:
            created = [n for n in new if n not in old]
            changed = [n for n in new if n in old and old[n] != new[n]]
            deleted = [n for n in old if n not in new]
        self.state = new
        diff: dict[str, str | None] = {n: new[n] for n in created + changed}
        diff.update({n: None for n in deleted})
        error = result.error_before_exec or result.error_in_exec
        return CellRecord(
            session_id=session_id,
            seq=seq,
            source=raw,
            start_time=self.started,
            end_time=ended,
            status="error" if error is not None else "ok",
            execution_count=result.execution_count,
            cell_id=getattr(self.info, "cell_id", None),
            error_type=type(error).__name__ if error is not None else None,
            error_message=str(error)[:10_000] if error is not None else None,
            created=tuple(created),
            changed=tuple(changed),
            deleted=tuple(deleted),
            touched=tuple(sorted(touched)) if touched is not None else None,
            notebook_path=_notebook_path(self.ip.user_ns),
            state_diff=diff,
            file_events=self._file_events(session_id, seq),
        )

    def _incomplete_state(self, touched: set[str] | None) -> dict[str, str]:
        """The state after a cell whose hashing did not finish: the names the cell may have
        touched (every name if that is unknown) and new names get the :data:`INCOMPLETE`
        marker, which differs from every hash, so the next cell hashes them again; the others
        keep their last hash."""
        from nbtrack.capture.hashing import is_user_name

        hidden = self.ip.user_ns_hidden
        names = [n for n in list(self.ip.user_ns) if is_user_name(n) and n not in hidden]
        return {
            n: INCOMPLETE
            if touched is None or n in touched or n not in self.state
            else self.state[n]
            for n in names
        }

    def _file_events(self, session_id: str, seq: int) -> tuple[FileEvent, ...]:
        events = []
        for path, mode in self.files.take():
            fh = self.files.file_hash(path)
            events.append(
                FileEvent(
                    session_id,
                    path,
                    mode,
                    seq=seq,
                    hash=fh[0] if fh else None,
                    size=fh[1] if fh else None,
                )
            )
        return tuple(events)


class CellQueue:
    """Cell records the store could not take (full, read-only, locked, gone), oldest first;
    written before the next cell's record, or by the backlog's thread meanwhile."""

    def __init__(self, store: Store):
        self.store = store
        self.records: collections.deque[CellRecord] = collections.deque()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.records)

    def save(self, record: CellRecord) -> None:
        """Write ``record`` now, or keep it behind the records already waiting."""
        if not self.records:
            try:
                self.store.record_cell(record, wait=pending.hot_wait(self.store))
                return
            except Exception as exc:
                if not is_store_failure(exc):
                    raise
                # a busy store only warns if the backlog is still there after a grace period
                pending.store_failed(
                    self.store, f"could not record cell {record.execution_count}", exc
                )
        if len(self.records) >= MAX_PENDING_CELLS:
            self.records.popleft()
            warn_failure(
                f"the store has been unwritable for {MAX_PENDING_CELLS:,} cells: the oldest unsaved cell records are dropped"
            )
        self.records.append(record)
        pending.backlog.keep(self)

    def flush(self, wait: float | None = pending.RETRY_WAIT) -> bool:
        """Write queued cell records, oldest first; False if the store still refuses."""
        if not self._lock.acquire(timeout=-1 if wait is None else wait):
            return False
        try:
            while self.records:
                try:
                    self.store.record_cell(self.records[0], wait=wait)
                except Exception as exc:
                    if is_duplicate(exc):
                        pass  # written by an attempt whose answer was lost
                    elif is_store_failure(exc):
                        pending.store_failed(self.store, "could not record cells", exc)
                        return False
                    else:
                        warn_failure(
                            f"could not record cell {self.records[0].execution_count}", exc
                        )
                self.records.popleft()
            pending.store_recovered(self.store)
            return True
        finally:
            self._lock.release()


def _interrupt_cell(ip: Any) -> None:
    """The user interrupted the kernel while a cell waited for the store to open: that cell
    raises KeyboardInterrupt instead of running (a one-shot AST transformer, as IPython catches
    whatever a pre-cell hook raises)."""
    import ast

    class Interrupted(ast.NodeTransformer):
        def visit_Module(self, node: ast.Module) -> ast.Module:
            if self in ip.ast_transformers:
                ip.ast_transformers.remove(self)
            stop = ast.Raise(exc=ast.Name("KeyboardInterrupt", ast.Load()), cause=None)
            return ast.fix_missing_locations(ast.Module(body=[stop], type_ignores=[]))

    ip.ast_transformers.insert(0, Interrupted())


def _kernel_loop(ip: Any) -> Any:
    """The event loop of the kernel running the cell: a callback scheduled on it runs once
    ipykernel has handed the reply and the idle status to its threads, and before it handles
    the next request. None outside ipykernel."""
    if getattr(ip, "kernel", None) is None:
        return None
    import asyncio

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _records_after_reply() -> bool:
    """``NBTRACK_RECORD``: ``after-reply`` (the default) or ``before-reply``."""
    mode = os.environ.get("NBTRACK_RECORD", "").strip() or RECORD_MODES[0]
    if mode not in RECORD_MODES:
        warn_failure(
            f"NBTRACK_RECORD must be {' or '.join(RECORD_MODES)}, not {mode!r}: "
            f"recording {RECORD_MODES[0]}"
        )
    return mode != "before-reply"


def _wait_iopub(ip: Any) -> None:
    """Wait (the GIL released) until ipykernel's IOPub thread has sent what the kernel gave it
    so far: the cell's idle status, which the user's front end waits for."""
    socket = getattr(getattr(ip, "kernel", None), "iopub_socket", None)
    schedule = getattr(getattr(socket, "io_thread", None), "schedule", None)
    if schedule is not None:
        sent = threading.Event()
        schedule(sent.set)  # its queue is first in, first out
        sent.wait(1.0)


def _numbered(record: CellRecord, session_id: str, seq: int) -> CellRecord:
    """``record`` (made before the store was open) as cell ``seq`` of session ``session_id``."""
    events = tuple(
        dataclasses.replace(e, session_id=session_id, seq=seq) for e in record.file_events
    )
    return dataclasses.replace(record, session_id=session_id, seq=seq, file_events=events)


def _store_dirs(url: str) -> list[str]:
    """The directories of the store at ``url`` whose files are nbtrack's, not the user's
    (known before the store is opened; a server store's blob folder is added once it is)."""
    dirs = [os.environ.get("NBTRACK_BLOBS", "")]
    if "://" not in url or url.startswith("sqlite"):
        root = url.removeprefix("sqlite:///")
        dirs += [root, os.path.join(root, "blobs")]
    return [d for d in dirs if d and "://" not in d]


def _hook_failed(what: str, exc: BaseException) -> None:
    """One warning line for a failure at nbtrack's hook time, whatever was raised (the warning
    itself raising, e.g. under a test suite's "error" filter, is the caller's business only for
    Exceptions: an interrupt arriving while warning is dropped)."""
    try:
        warn_failure(what, exc)
    except Exception:
        raise
    except BaseException:
        pass


def _notebook_path(user_ns: dict[str, Any]) -> str | None:
    from nbtrack.capture.revision import notebook_path

    return notebook_path(user_ns)


_recorder: Recorder | None = None
# The recorder is also kept on the shell, which outlives this module's deletion from sys.modules.
SHELL_ATTRIBUTE = "_nbtrack_recorder"


def load(ip: Any, store: str | None = None) -> Recorder | None:
    """Start recording in shell ``ip``. Loading twice (or ``%reload_ext``) keeps one recorder,
    so each cell is recorded once and the state diff carries on."""
    global _recorder
    kept = getattr(ip, SHELL_ATTRIBUTE, None)
    if _recorder is None and kept is not None and kept.ip is ip:
        # this module was imported anew (``del sys.modules[...]``, then ``%reload_ext``): the
        # recorder kept on the shell goes on, so its hooks are not registered a second time
        _recorder = kept
    if _recorder is None or _recorder.ip is not ip:
        try:
            _recorder = Recorder(ip, store)
        except Exception as exc:
            warn_failure("recording is off: could not open the store", exc)
            return None
        try:
            _recorder.adopt_current_cell()
        except Exception as exc:
            warn_failure("could not record the cells run before nbtrack was loaded", exc)
    _recorder.unregister()
    _recorder.register()
    _recorder.start_opening()
    try:
        setattr(ip, SHELL_ATTRIBUTE, _recorder)
    except Exception:
        pass  # a shell that takes no attributes: a reload after deleting modules records twice
    return _recorder


def _forget(recorder: Recorder) -> None:
    """``recorder`` is off for good (its store could not be opened): a later ``%load_ext``
    or ``%reload_ext`` tries again with a new one."""
    global _recorder
    if _recorder is recorder:
        _recorder = None
    if getattr(recorder.ip, SHELL_ATTRIBUTE, None) is recorder:
        try:
            delattr(recorder.ip, SHELL_ATTRIBUTE)
        except Exception:
            pass


def unload(ip: Any) -> None:
    if _recorder is not None and _recorder.ip is ip:
        _recorder.unregister()
        _recorder.let_go()
