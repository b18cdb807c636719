"""One run in full: params, metrics, tags, notes, datasets, notebook revision, environment, cells,
replays; and the notebook as the run recorded it."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import traitlets as t

from nbtrack.errors import NbtrackError
from nbtrack.query.runs import read_run
from nbtrack.query.series import SeriesSet, load_series
from nbtrack.widgets.charts import VegaWidget
from nbtrack.widgets.series import records
from nbtrack.widgets.source import StoreSource
from nbtrack.widgets.specs import line_chart

CHART_WIDTH, CHART_HEIGHT = 340, 150  # each metric's small chart; they wrap to the output's width


class RunView(VegaWidget):
    """See :func:`run_view`. Replay and Export buttons call :meth:`replay` and :meth:`export`.

    "Notebook as recorded" first asks the page: in JupyterLab nbtrack's extension opens its
    read-only view (the ``nbtrack:open`` event, labextension/src/bridge.ts); where nothing
    answers, the front end sends ``open-recorded`` and :meth:`write_recorded` writes a
    read-only copy here instead."""

    run = t.Dict().tag(sync=True)
    params = t.Dict().tag(sync=True)
    metrics: t.List[Any] = t.List().tag(sync=True)
    tags = t.Dict().tag(sync=True)
    notebook = t.Dict().tag(sync=True)
    # the environment as readable rows {"label", "value"} and its packages {name: version}
    environment = t.Dict().tag(sync=True)
    replays: t.List[Any] = t.List().tag(sync=True)
    artifacts: t.List[Any] = t.List().tag(sync=True)
    models: t.List[Any] = t.List().tag(sync=True)  # log_model's, with the line that loads each
    datasets: t.List[Any] = t.List().tag(sync=True)  # log_input's, as the read model gives them
    cells: t.List[Any] = t.List().tag(sync=True)
    charts: t.List[Any] = t.List().tag(sync=True)  # one small vega-lite chart per metric
    # the exception a failed run ended with, as the read model gives it: shown as a banner
    failure = t.Dict(allow_none=True, default_value=None).tag(sync=True)
    action_message = t.Unicode("").tag(sync=True)
    recorded_path = t.Unicode("").tag(sync=True)  # the read-only copy written by write_recorded

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
        self.environment = describe_environment(run["environment"])
        self.replays = run["replays"]
        self.artifacts = [{"path": a["path"], "size": a["size"]} for a in run["artifacts"]]
        self.models = run["models"]
        self.datasets = run["datasets"]
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
        self.charts = metric_charts(data, self.metrics) if data else []
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

    def write_recorded(self, folder: str | os.PathLike[str] | None = None) -> str:
        """Write the notebook as the run recorded it (its cells marked) to
        ``<run name>-<id8>.as-recorded.ipynb`` in ``folder`` (default: the working directory),
        read-only (0o444) so it is not mistaken for the notebook to edit; returns its path.
        Written again over an earlier copy."""
        from nbtrack.reproduce.export import export_run

        rid = str(self.run_id)
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", str(self.run.get("name") or "")).strip("-.")
        path = Path(folder or ".") / f"{stem or 'run'}-{rid[:8]}.as-recorded.ipynb"
        if path.is_file():  # an earlier copy: replacing a read-only file fails on Windows
            path.chmod(0o644)
        export_run(self._store, rid, "notebook", path, as_recorded=True)
        path.chmod(0o444)
        self.recorded_path = str(path.absolute())
        return self.recorded_path

    def _on_msg(self, _w: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "action":
            return
        action = content.get("action")
        if action not in ACTIONS:
            return
        self.action_message = f"{ACTIONS[action]} running…"
        try:
            if action == "replay":
                result = f"replay: {self.replay()}"
            elif action == "export":
                result = f"exported to {self.export()}"
            else:
                result = f"notebook as recorded written to {self.write_recorded()} (read-only)"
        except (NbtrackError, OSError) as exc:
            self.action_message = f"{ACTIONS[action]} failed: {exc}"
            return
        except Exception as exc:  # a view never raises into the kernel's comm handler
            self.action_message = f"{ACTIONS[action]} failed: {type(exc).__name__}: {exc}"
            return
        self.action_message = result
        if action == "replay":
            self.load()


# what the front end may ask (``{"type": "action", "action": ...}``), as its messages name it
ACTIONS = {"replay": "replay", "export": "export", "open-recorded": "notebook as recorded"}


def metric_charts(data: SeriesSet, summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One small chart per metric of one run, its subtitle naming what the axes cannot say
    at a glance: the last value, the minimum and the maximum."""
    by_key = {m["key"]: m for m in summary}
    out = []
    for s in data.series:
        rows, notes = records(SeriesSet([s], data.run_labels))
        m = by_key.get(s.metric, {})
        facts = [
            f"{label} {_num(m.get(field))}"
            for label, field in (("last", "latest"), ("min", "min"), ("max", "max"))
            if m.get(field) is not None
        ]
        out.append(
            line_chart(
                rows,
                [s.metric],
                notes=[" · ".join(facts), *notes],
                width=CHART_WIDTH,
                height=CHART_HEIGHT,
                legend=False,
            )
        )
    return out


def _num(v: Any) -> str:
    """A metric value as the charts' tooltips show it (six significant digits)."""
    if isinstance(v, str):  # NaN and infinities come JSON-safe, spelled out
        return v
    return f"{float(v):,.6g}"


def describe_environment(env: dict[str, Any] | None) -> dict[str, Any]:
    """The environment manifest as a person reads it: ``rows`` of label and text (Python,
    platform, CPU, memory in GiB, GPUs) and ``packages`` as ``{name: version}``, sorted."""
    if not isinstance(env, dict) or not env:
        return {}
    rows: list[dict[str, str]] = []
    py = env.get("python") or {}
    if isinstance(py, str):  # an older or hand-written manifest: the version alone
        rows.append({"label": "Python", "value": py})
    elif isinstance(py, dict) and py:
        text = " ".join(str(py[k]) for k in ("implementation", "version") if py.get(k))
        rows.append({"label": "Python", "value": text})
        if py.get("executable"):
            rows.append({"label": "Interpreter", "value": str(py["executable"])})
    plat = env.get("platform") or {}
    if isinstance(plat, str):
        rows.append({"label": "Platform", "value": plat})
    elif isinstance(plat, dict) and plat:
        text = " ".join(str(plat[k]) for k in ("system", "release", "machine") if plat.get(k))
        rows.append({"label": "Platform", "value": text or str(plat.get("platform", ""))})
    cpu = env.get("cpu") or {}
    if isinstance(cpu, dict) and (cpu.get("count") or cpu.get("model")):
        count = f"{cpu['count']} × " if cpu.get("count") else ""
        rows.append({"label": "CPU", "value": f"{count}{cpu.get('model') or 'CPU'}"})
    if isinstance(env.get("memory_total"), (int, float)):
        rows.append({"label": "Memory", "value": human_size(env["memory_total"])})
    gpus = env.get("gpus")
    if isinstance(gpus, list):
        names = [str(g.get("name", "GPU")) if isinstance(g, dict) else str(g) for g in gpus]
        rows.append({"label": "GPUs", "value": ", ".join(names) if names else "none"})
    known = {"python", "platform", "cpu", "memory_total", "gpus", "packages", "nbtrack"}
    for k, v in env.items():
        if k not in known and isinstance(v, (str, int, float, bool)):
            rows.append({"label": k, "value": str(v)})
    packages = env.get("packages")
    pkgs = (
        {str(k): str(v) for k, v in sorted(packages.items(), key=lambda kv: str(kv[0]).lower())}
        if isinstance(packages, dict)
        else {}
    )
    return {"rows": rows, "packages": pkgs}


def human_size(n: float) -> str:
    """Bytes in binary units, as a person reads them: ``25275973632`` -> ``23.5 GiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


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
