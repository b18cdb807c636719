"""A run: what it logs (params, metrics, tags, artifacts, inputs) and how it is kept.

Points are buffered in memory and made durable at the end of every cell (kernel), at
``end_run`` and by the background flusher (:mod:`.active`) twice a second, so logging costs
microseconds. What the store cannot take meanwhile waits in the run, or in ``pending.backlog``
once it ended. The API is in :mod:`.fluent`.
"""

from __future__ import annotations

import collections
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from nbtrack import validation as v
from nbtrack.errors import ValidationError, warn_failure
from nbtrack.recording.artifacts import (
    dict_artifact,
    figure_artifact,
    file_artifacts,
    text_artifact,
)
from nbtrack.recording.failure import describe_failure
from nbtrack.recording.journal import journal_of
from nbtrack.recording.journal import pending as journal_pending
from nbtrack.recording.listeners import metric_listeners, notify
from nbtrack.recording.pending import (
    RETRY_WAIT,
    WRITE_WAIT,
    backlog,
    flush_soon,
    hot_wait,
    store_failed,
    store_failing,
    store_recovered,
)
from nbtrack.recording.session import Session
from nbtrack.recording.summary import show_summary
from nbtrack.store import FileEvent
from nbtrack.store.failures import is_store_failure

# Points a run keeps in memory while the store refuses them; past it they go to the journal.
MAX_BUFFER = int(os.environ.get("NBTRACK_BUFFER_POINTS", "100000"))
SPILL_AT = 3 * MAX_BUFFER  # the same while the store is healthy but the flusher is behind
MAX_PENDING_ARTIFACT_BYTES = 256 * 2**20

Point = tuple[str, float, int, float, "int | None"]


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
        self.start_time = time.time()
        self.end_time: float | None = None
        self.start_seq = session.next_body_seq
        # The last logged value of each metric (by step), for the line that says how it ended.
        self.final_metrics: dict[str, tuple[int, float]] = {}
        self.failure: dict[str, Any] | None = None  # how a failed run failed (.failure)
        # Show the one-line summary when the run ends (:mod:`.summary`): %%track and a
        # top-level ``with start_run()`` in IPython ask for it.
        self.announce = False
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
        self._inputs: list[FileEvent] = []
        self._datasets: list[dict[str, Any]] = []
        self._end_values: dict[str, Any] | None = None
        # Set by the stack of active runs (active.register), which the run leaves when it ends.
        self._on_end: Callable[[Run], None] | None = None

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

    def log_metric(
        self, key: str, value: Any, step: int | None = None, timestamp: Any = None
    ) -> None:
        if key not in self._steps:
            v.check_name("metric", key)
        value = v.check_metric_value(key, value) if type(value) is not float else value
        if step is None:
            step = self._steps.get(key, -1) + 1
            if step >= 2**63:
                raise ValidationError(
                    f"metric {key!r} has no next step: its last step is {step - 1}, the largest "
                    "64-bit integer; give step= explicitly"
                )
        elif type(step) is not int or not -(2**63) <= step < 2**63:
            step = v.check_step(key, step)
        self._steps[key] = step
        last = self.final_metrics.get(key)
        if last is None or step >= last[0]:
            self.final_metrics[key] = (step, value)
        ts = time.time() if timestamp is None else v.check_timestamp(timestamp)
        self._points.append((key, value, step, ts, self.session.current_seq))
        if len(self._points) >= MAX_BUFFER:
            self._overflow()
        if metric_listeners:
            notify(self.id, key, value, step, ts)

    def log_metrics(
        self, metrics: Mapping[str, Any], step: int | None = None, timestamp: Any = None
    ) -> None:
        items = list(v.check_mapping("metrics", metrics).items())
        for key, _ in items:
            v.check_name("metric", key)
        ts = time.time() if timestamp is None else v.check_timestamp(timestamp)
        for key, value in items:
            self.log_metric(key, value, step, ts)

    def log_artifact(
        self, local_path: str | os.PathLike[str], artifact_path: str | None = None
    ) -> str:
        """Store a file (or every file of a directory) as artifacts; returns the artifact path."""
        base, files = file_artifacts(local_path, artifact_path)
        for path, data in files:
            self._put_artifact(path, data)
        return base

    def log_text(self, text: str, artifact_file: str) -> None:
        self._put_artifact(*text_artifact(text, artifact_file))

    def log_dict(self, dictionary: Mapping[str, Any], artifact_file: str) -> None:
        self._put_artifact(*dict_artifact(dictionary, artifact_file))

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        """A matplotlib figure (png/svg/pdf by extension) or an Altair chart (html/json/png/svg)."""
        self._put_artifact(*figure_artifact(figure, artifact_file))

    def log_input(self, data: Any, name: str | None = None, context: str | None = None) -> str:
        """Declare a dataset this run uses: a pandas DataFrame or Series, a numpy array or a
        file path. Its digest (the content hash the recorder keeps for a variable, or a file's
        content hash), schema and rows are kept with ``name`` (default: the file's name, else
        ``dataset-<digest[:8]>``) and ``context`` (``training``, ``validation``...), searchable
        as ``datasets.name``, ``datasets.digest`` and ``datasets.context``. Returns the digest."""
        from nbtrack.capture.datasets import describe

        if name is not None:
            name = v.check_label("dataset name", name)
        if context is not None:
            context = v.check_label("dataset context", context)
        ds = describe(data)
        self._datasets.append(
            {
                "name": name or ds.default_name,
                "digest": ds.digest,
                "context": context,
                "kind": ds.kind,
                "source": ds.source,
                "schema": ds.schema,
                "rows": ds.rows,
                "created": time.time(),
            }
        )
        if ds.kind == "file" and ds.source is not None:  # replay checks it for drift
            self._inputs.append(
                FileEvent(
                    self.session.id,
                    ds.source,
                    "input",
                    seq=self.session.current_seq,
                    run_id=self.id,
                    hash=ds.digest,
                    size=ds.size,
                )
            )
        self.flush(hot_wait(self.store))
        return ds.digest

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
                store_failed(
                    self.store, f"could not save artifact {path!r} of run {self.id[:8]}", exc
                )
        if self._pending_bytes + len(data) > MAX_PENDING_ARTIFACT_BYTES:
            warn_failure(
                f"artifact {path!r} of run {self.id[:8]} was not saved: the store is not writable and "
                f"{MAX_PENDING_ARTIFACT_BYTES // 2**20} MB of artifacts already wait in memory"
            )
            return
        self._artifacts.append((path, data))
        self._pending_bytes += len(data)

    # -- persistence ---------------------------------------------------------------------
    def _overflow(self) -> None:
        """Past the memory bound, in the user's thread: never wait for the store. A failing
        store (or a flusher far behind) sends the points to the journal; otherwise the
        flusher is woken to write them now."""
        if store_failing(self.store) or len(self._points) >= SPILL_AT:
            journal_of(self.id, self.store).spill(self._take_points())
        else:
            flush_soon.set()

    def _take_points(self) -> list[Point]:
        """Everything buffered, oldest first; safe against another thread taking some too."""
        pts, out = self._points, []
        try:
            for _ in range(len(pts)):
                out.append(pts.popleft())
        except IndexError:
            pass
        return out

    def flush(self, wait: float | None = RETRY_WAIT) -> bool:
        """Write everything kept in memory (the run row if it could not be created, artifacts,
        params, tags, points, the closing update), waiting at most about ``wait`` seconds for
        the store. On failure keep it all, warn once per outage and return False."""
        if not self._flush_lock.acquire(timeout=-1 if wait is None else wait):
            return False  # another thread is writing this run right now
        try:
            done = self._write_pending(wait)
        except Exception as exc:
            self._failing = True
            store_failed(self.store, f"could not save run {self.id[:8]}", exc)
            return False
        finally:
            self._flush_lock.release()
        if self._failing:
            self._failing = False
            store_recovered(self.store)
        return done

    def _write_pending(self, wait: float | None) -> bool:
        """Write what is kept; False when the journal still holds points (only a background
        flush, which may take long, replays it), so the closing update waits for them."""
        if self._create is not None:
            row, experiment, params, tags = self._create
            # an ended run with nothing else to write is created closed, in one transaction
            closing = (
                None
                if (self._points or self._params or self._tags or self._artifacts)
                else self._end_values
            )
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
        if self._datasets:
            self.store.add_datasets(self.id, self._datasets, wait=wait)
            self._datasets = []
        journaled = journal_pending(self.id)
        if journaled and (wait is None or wait >= RETRY_WAIT):
            self._replay_journal(wait)
            journaled = journal_pending(self.id)
        if self._points or self._params or self._tags:
            points = self._take_points()
            params, self._params = self._params, {}
            tags, self._tags = self._tags, {}
            try:
                self.store.log_batch(self.id, params, tags, points, wait=wait)
            except BaseException:
                self._points.extendleft(reversed(points))
                self._params = {**params, **self._params}
                self._tags = {**tags, **self._tags}
                raise
        if journaled:
            return False
        if self._end_values is not None:
            self.store.update_run(self.id, wait=wait, **self._end_values)
            self._end_values = None
        return True

    def _replay_journal(self, wait: float | None) -> None:
        def write(batches: list[list[Point]]) -> None:
            def fn(conn: Any) -> None:
                for batch in batches:
                    self.store.write_batch(conn, self.id, {}, {}, batch)

            self.store.write(fn, wait=wait)

        journal_of(self.id, self.store).replay(write)

    def _sample_system(self) -> None:
        try:
            from nbtrack.capture.system import sample_system

            sample = sample_system()
        except Exception:
            return
        ts = time.time()
        for key, value in sample.items():
            self._points.append((key, value, self._system_step, ts, None))
        self._system_step += 1

    def end(self, status: str = "finished", error: BaseException | None = None) -> None:
        """End the run; ``error``, the exception a failed run ended with, is kept with it
        (:mod:`.failure`)."""
        if status not in ("finished", "failed", "killed"):
            raise ValidationError(f"run status must be finished, failed or killed, got {status!r}")
        if self.status != "running":
            return
        self.status = status
        end_time = self.end_time = time.time()
        if self._on_end is not None:
            self._on_end(self)  # off the stack of active runs
        failure = self._failure(error) if status == "failed" else None
        try:
            extra = self.session.revision()
            self._end_values = dict(
                status=status,
                end_time=end_time,
                end_seq=self.session.seq if self.session.kind == "kernel" else None,
                env_hash=self.session.environment(),
                snapshot_hash=self.session.snapshot(extra.get("notebook_path")),
                failure=failure,
                **extra,
            )
        except Exception as exc:
            warn_failure(f"could not close run {self.id[:8]}", exc)
            self._end_values = {"status": status, "end_time": end_time, "failure": failure}
        saved = self.flush(hot_wait(self.store))
        if not saved and not store_failing(self.store) and not journal_pending(self.id):
            saved = self.flush(
                RETRY_WAIT
            )  # the flusher thread held the run: wait for it, not the store
        if not saved:
            backlog.keep(self)  # closed when the store is writable again
        if self.announce:
            show_summary(self)

    def __enter__(self) -> Run:
        # a top-level ``with start_run()`` in IPython says in one line how it ended
        if self.parent_id is None:
            self.announce = True
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.end("finished")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end("killed")
        else:
            self.end("failed", exc)

    def _failure(self, error: BaseException | None) -> str | None:
        """The JSON the store keeps of ``error`` (``None`` when there is none or it cannot be
        described: a run's end never fails over its failure)."""
        if error is None:
            return None
        try:
            seq = (
                (self.session.current_seq or self.session.seq)
                if self.session.kind == "kernel"
                else None
            )
            self.failure = describe_failure(error, seq=seq)
            return json.dumps(self.failure)
        except Exception as exc:
            warn_failure(f"could not describe how run {self.id[:8]} failed", exc)
            return None
