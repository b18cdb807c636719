"""The IPython extension: records every cell execution and the kernel state after it."""

from __future__ import annotations

import atexit
import collections
import threading
import time
from typing import Any

from nbtrack.errors import defer_thread_warnings, deferred, emit_deferred, warn_failure
from nbtrack.recording import active, pending
from nbtrack.recording.session import get_session
from nbtrack.store import CellRecord, FileEvent, Store, open_store
from nbtrack.store.failures import is_duplicate, is_store_failure
from nbtrack.validation import redact_track_line

MAX_PENDING_CELLS = 10_000
# The state hash of a variable whose hashing did not finish (interrupted, or its pickling raised).
INCOMPLETE = "incomplete"


class Recorder:
    """Hooks ``pre_run_cell`` / ``post_run_cell``; everything it does is guarded so that a
    failure here is one warning line and never the user's problem."""

    def __init__(self, ip: Any, store: Store):
        from nbtrack.capture.hashing import StateHasher
        from nbtrack.capture.lineage import FileTracker

        self.ip = ip
        self.store = store
        pending.mark_kernel_store(store)
        self.session = get_session(store, "kernel")
        self.session.user_ns = ip.user_ns
        self.hasher = StateHasher()
        self.state: dict[str, str] = {}
        self._hashed: dict[str, str] | None = None  # the state as the hasher last gave it
        self.files = FileTracker(exclude=[getattr(store, "root", None) or "", store.blobs.root])
        self.depth = 0
        self.info: Any = None
        self.started = 0.0
        self.cells = CellQueue(store)
        atexit.register(self.cells.flush, 1.0)

    def adopt_current_cell(self) -> None:
        """Record the cells run before the extension was loaded (sources from IPython's history,
        status ``history``) and the loading cell itself, so the sequence starts at the kernel's start."""
        from types import SimpleNamespace

        hist = list(self.ip.history_manager.input_hist_raw)
        now = time.time()
        for count, source in enumerate(hist[1:-1], start=1):
            if not source.strip():
                continue
            self.session.seq += 1
            self.store.record_cell(
                CellRecord(
                    self.session.id,
                    self.session.seq,
                    source,
                    now,
                    now,
                    "history",
                    execution_count=count,
                    notebook_path=_notebook_path(self.ip.user_ns),
                )
            )
        if len(hist) > 1:
            header = getattr(self.ip, "parent_header", None) or {}
            cell_id = (header.get("metadata") or {}).get("cellId")
            self.pre_run_cell(SimpleNamespace(raw_cell=hist[-1], cell_id=cell_id))

    def register(self) -> None:
        self.ip.events.register("pre_run_cell", self.pre_run_cell)
        self.ip.events.register("post_run_cell", self.post_run_cell)
        self.files.start()
        defer_thread_warnings(True)  # background threads' warnings go to the next cell

    def unregister(self) -> None:
        for name, fn in (
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
        if deferred:
            emit_deferred()  # what background threads found since the last cell
        self.depth += 1
        if self.depth > 1:
            return
        self.info = info
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
        self.session.current_seq = None
        try:
            record = self._record(result, ended)
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
        if deferred:
            emit_deferred()

    def _record(self, result: Any, ended: float) -> CellRecord:
        from nbtrack.capture.hashing import names_touched

        raw = redact_track_line(self.info.raw_cell)
        touched = None
        if not result.error_before_exec:
            try:
                # plain Python needs no IPython transform (only magics, ! and ? fail to parse)
                touched = names_touched(raw)
                if touched is None:
                    touched = names_touched(self.ip.transform_cell(raw))
            except Exception:
                touched = None
        old = self.state
        complete = old is self._hashed  # the last state came whole from the hasher
        try:
            new = self.hasher.hash_namespace(self.ip.user_ns, touched, self.ip.user_ns_hidden)
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
        seq = self.session.seq
        return CellRecord(
            session_id=self.session.id,
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
            file_events=self._file_events(seq),
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

    def _file_events(self, seq: int) -> tuple[FileEvent, ...]:
        events = []
        for path, mode in self.files.take():
            fh = self.files.file_hash(path)
            events.append(
                FileEvent(
                    self.session.id,
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
            _recorder = Recorder(ip, open_store(store))
        except Exception as exc:
            warn_failure("recording is off: could not open the store", exc)
            return None
        try:
            _recorder.adopt_current_cell()
        except Exception as exc:
            warn_failure("could not record the cells run before nbtrack was loaded", exc)
    _recorder.unregister()
    _recorder.register()
    try:
        setattr(ip, SHELL_ATTRIBUTE, _recorder)
    except Exception:
        pass  # a shell that takes no attributes: a reload after deleting modules records twice
    return _recorder


def unload(ip: Any) -> None:
    if _recorder is not None and _recorder.ip is ip:
        _recorder.unregister()
