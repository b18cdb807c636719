"""One run in full: params, metrics, tags, notes, notebook revision, environment, cells, replays."""

from __future__ import annotations

import time
from typing import Any

import traitlets as t

from nbtrack.errors import NbtrackError
from nbtrack.query.runs import read_run
from nbtrack.query.series import load_series
from nbtrack.widgets.charts import VegaWidget, build_chart
from nbtrack.widgets.source import StoreSource


class RunView(VegaWidget):
    """See :func:`run_view`. Replay and Export buttons call :meth:`replay` and :meth:`export`."""

    run = t.Dict().tag(sync=True)
    params = t.Dict().tag(sync=True)
    metrics: t.List[Any] = t.List().tag(sync=True)
    tags = t.Dict().tag(sync=True)
    notebook = t.Dict().tag(sync=True)
    environment = t.Dict().tag(sync=True)
    replays: t.List[Any] = t.List().tag(sync=True)
    artifacts: t.List[Any] = t.List().tag(sync=True)
    models: t.List[Any] = t.List().tag(sync=True)  # log_model's, with the line that loads each
    cells: t.List[Any] = t.List().tag(sync=True)
    spec = t.Dict().tag(sync=True)
    # the exception a failed run ended with, as the read model gives it: shown as a banner
    failure = t.Dict(allow_none=True, default_value=None).tag(sync=True)
    action_message = t.Unicode("").tag(sync=True)

    def __init__(self, store: Any, run_id: str | None, problem: str = "", **kw: Any):
        super().__init__(_kind="run", **kw)
        self._store = store
        self.run_id = run_id
        if store is None or run_id is None:
            self.status, self.message = ("no-store" if store is None else "error"), problem
            return
        self.load()
        self.on_msg(self._on_msg)

    def load(self) -> None:
        """(Re-)read the run from the store, through the read model :func:`~nbtrack.query.runs.read_run`."""
        st, rid = self._store, str(self.run_id)
        run = read_run(st, rid)
        duration = run["duration"]
        if duration is None and run["status"] == "running":
            duration = time.time() - run["start_time"]
        self.run = {
            "id": rid,
            "name": run["name"],
            "experiment": run["experiment"],
            "status": run["status"],
            "start_time": run["start_time"],
            "duration": duration,
            "notes": run["notes"] or "",
        }
        self.failure = run["failure"]
        self.params = run["params"]
        self.tags = run["tags"]
        self.metrics = [{"key": k, **m} for k, m in run["metric_summary"].items()]
        nb = run["notebook"]
        self.notebook = {
            k: v
            for k, v in (
                ("path", nb["path"]),
                ("file hash", nb["hash"]),
                ("git commit", nb["git_commit"]),
                (
                    "uncommitted diff",
                    nb["git_diff_hash"] or ("none (clean)" if nb["git_commit"] else None),
                ),
            )
            if v
        }
        self.environment = _flat(run["environment"])
        self.replays = run["replays"]
        self.artifacts = [{"path": a["path"], "size": a["size"]} for a in run["artifacts"]]
        self.models = run["models"]
        self.cells = [
            {
                "execution_count": c["execution_count"],
                "source": c["source"],
                "status": c["status"],
                "error": c["error"],
                "in_run": c["in_run"],
                "created": c["created"],
                "changed": c["changed"],
                "deleted": c["deleted"],
                "duration": c["end_time"] - c["start_time"],
            }
            for c in run["cells"]
        ]
        keys = [
            m["key"]
            for m in self.metrics
            if not m["key"].startswith("system/") and (m.get("count") or 0) > 1
        ]
        data = load_series(st, [rid], keys) if keys else None
        self.spec = build_chart(data, "step", 0.0, False) if data and data.series else {}
        self.status, self.message = "ready", ""

    def replay(self) -> str:
        """Replay the run in a fresh kernel (blocks this kernel meanwhile); returns a summary."""
        from nbtrack.reproduce.replay import replay_run

        report = replay_run(str(self.run_id), store=self._store, progress=False)
        verdict = (
            "reproduced"
            if report.reproduced
            else f"diverged ({len(report.divergences)} divergence(s))"
        )
        return f"{verdict}: {report.cells_matched}/{report.cells_total} cells matched"

    def export(self, fmt: str = "notebook") -> str:
        """Write the run's executed cells as a notebook in the working directory; returns its path."""
        from nbtrack.reproduce.export import export_run

        return str(export_run(self._store, str(self.run_id), fmt))

    def _on_msg(self, _w: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "action":
            return
        action = content.get("action")
        if action not in ("replay", "export"):
            return
        self.action_message = f"{action} running…"
        try:
            result = self.replay() if action == "replay" else self.export()
        except (NbtrackError, OSError) as exc:
            self.action_message = f"{action} failed: {exc}"
            return
        except Exception as exc:  # a view never raises into the kernel's comm handler
            self.action_message = f"{action} failed: {type(exc).__name__}: {exc}"
            return
        self.action_message = (
            f"{action}: {result}" if action == "replay" else f"exported to {result}"
        )
        if action == "replay":
            self.load()


def _flat(env: dict[str, Any] | None) -> dict[str, Any]:
    """An environment manifest as one level of rows: scalars as they are, small mappings as
    ``key.sub`` rows (at most 8), larger collections as their size."""
    out: dict[str, Any] = {}
    for k, v in (env or {}).items():
        if isinstance(v, (str, int, float, bool)) or v is None:
            out[k] = v
        elif isinstance(v, dict) and all(
            isinstance(x, (str, int, float, bool)) or x is None for x in v.values()
        ):
            out.update({f"{k}.{sk}": sv for sk, sv in list(v.items())[:8]})
        elif isinstance(v, (dict, list)):
            out[k] = f"{len(v)} entries"
    return out


def run_view(run_id: str, store: Any = None) -> RunView:
    """One run in full (id or unique prefix), with Replay and Export buttons."""
    src = StoreSource(store)
    st = src.get()
    if st is None:
        return RunView(None, None, src.problem)
    try:
        rid = st.resolve_run_id(run_id)
    except NbtrackError as exc:
        return RunView(st, None, str(exc))
    return RunView(st, rid)
