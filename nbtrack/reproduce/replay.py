"""Replay a run in a fresh kernel, compare the state after every cell, and explain divergences."""

from __future__ import annotations

import html
import os
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from nbtrack.errors import NbtrackError, ValidationError
from nbtrack.store import Store, open_store


@dataclass
class Divergence:
    index: int
    execution_count: int | None
    source: str
    variables: dict[str, dict[str, str | None]]
    error: dict[str, Any] | None = None  # {"recorded": ..., "replayed": ...} when outcomes differ
    causes: list[str] = field(default_factory=list)

    @property
    def first_line(self) -> str:
        return next((ln for ln in self.source.splitlines() if ln.strip()), "")


@dataclass
class ReplayReport:
    run_id: str
    replay_run_id: str | None
    reproduced: bool
    cells_total: int
    cells_matched: int
    divergences: list[Divergence]
    environment_diff: dict[str, Any]
    changed_inputs: dict[str, str]
    changed_code: list[tuple[str, str]]
    unverified: int = 0  # cells run before nbtrack was loaded: no recorded state to compare

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for d in data["divergences"]:
            d.pop("first_line", None)
        return data

    def lines(self) -> list[str]:
        out = [f"reproduced {self.cells_matched}/{self.cells_total} cells"]
        if self.unverified:
            out.append(
                f"  ({self.unverified} cells ran before nbtrack was loaded; their state was not recorded)"
            )
        for i, d in enumerate(self.divergences):
            head = "first divergence" if i == 0 else "then"
            out.append(f"{head} at cell {d.index} [{d.execution_count}]: {d.first_line[:80]}")
            if d.error:
                out.append(
                    f"    outcome: recorded {_outcome(d.error['recorded'])}, replayed {_outcome(d.error['replayed'])}"
                )
            for name, hashes in sorted(d.variables.items()):
                rec, rep = hashes["recorded"], hashes["replayed"]
                what = "appeared" if rec is None else "vanished" if rep is None else "differs"
                out.append(f"    {name}: {what}")
            for cause in d.causes:
                out.append(f"    likely cause: {cause}")
        return out

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.reproduced else "#cf222e"
        body = "<br>".join(html.escape(line).replace("  ", "&nbsp;&nbsp;") for line in self.lines())
        return f'<div style="font-family:monospace;border-left:4px solid {colour};padding-left:8px">{body}</div>'


def _outcome(err: dict[str, Any] | None) -> str:
    return "ok" if err is None else f"{err.get('type')}: {err.get('message')}"


def replay(run_id: str, **kwargs: Any) -> ReplayReport:
    """``nbtrack.replay(run_id)``: replay a run in a fresh kernel and return the report."""
    return replay_run(run_id, **kwargs)


def replay_run(
    run_ref: str,
    store: Store | str | None = None,
    *,
    kernel_name: str | None = None,
    until: int | None = None,
    use_snapshot: bool = False,
    progress: bool = True,
    notify: Any = None,
) -> ReplayReport:
    """Execute a run's recorded cell sequence in a fresh kernel and compare state cell by cell.

    ``notify(kind, payload)`` receives ``("environment", lines)``, ``("input", line)`` and
    ``("cell", (index, total))`` events as the replay goes (the CLI and server show them)."""
    st = open_store(store, create=False)
    run_id = st.resolve_run_id(run_ref)
    (row,) = st.run_summaries([run_id])
    cells = st.run_cells(row)
    if not cells:
        raise NbtrackError(
            f"run {run_id[:8]} has no recorded cells to replay (it was not made in a kernel)"
        )
    if until is not None:
        if not 0 <= until < len(cells):
            raise ValidationError(f"--until {until} is outside the run's cells 0..{len(cells) - 1}")
        cells = cells[: until + 1]
    notify = notify or (lambda kind, payload: None)
    env_diff, packages = _environment_diff(st, row)
    if env_diff:
        from nbtrack.capture.environment import format_environment_diff

        notify("environment", format_environment_diff(env_diff))
    reads = _reads_by_seq(st, row)
    changed_inputs = _changed_inputs(reads)
    for path, how in changed_inputs.items():
        notify("input", f"input {path} {how} since recording")
    changed_code = _changed_code(st, row)
    for path, how in changed_code:
        notify("code", f"local file {path} {how} since recording")
    nb_dir = os.path.dirname(row.get("notebook_path") or "") or os.getcwd()
    with tempfile.TemporaryDirectory(prefix="nbtrack-replay-") as tmp:
        cwd = nb_dir
        if use_snapshot and row.get("snapshot_hash"):
            from nbtrack.capture.snapshot import restore_snapshot

            cwd = os.path.join(tmp, "snapshot")
            restore_snapshot(st, row["snapshot_hash"], cwd)
        replay_id = _execute(st, row, cells, cwd, kernel_name, notify)
    (replayed_row,) = st.run_summaries([replay_id])
    replayed = st.run_cells(replayed_row)
    for c in cells:
        c["reads"] = [path for path, _ in reads.get(c["seq"], [])]
    report = compare(
        run_id, replay_id, cells, replayed, env_diff, changed_inputs, changed_code, packages
    )
    st.update_run(replay_id, reproduced=report.reproduced)
    st.update_run(run_id, reproduced=report.reproduced)
    return report


def replay_bundle(
    path: str,
    store: Store | str | None = None,
    *,
    kernel_name: str | None = None,
    until: int | None = None,
    notify: Any = None,
) -> ReplayReport:
    """Rebuild and verify a run from a bundle (``nbtrack export --format bundle``) on this
    machine: its snapshot is extracted to a temporary directory, its cells replayed there and
    compared with the state hashes the bundle recorded. The replay is stored in ``store``."""
    from nbtrack.capture.environment import capture_environment, diff_environments
    from nbtrack.reproduce.bundle import read_bundle

    bundle = read_bundle(path)
    man = bundle["manifest"]
    cells = [dict(c) for c in bundle["cells"]]
    if not cells:
        raise NbtrackError(f"bundle {path} has no recorded cells to replay")
    if until is not None:
        if not 0 <= until < len(cells):
            raise ValidationError(f"--until {until} is outside the run's cells 0..{len(cells) - 1}")
        cells = cells[: until + 1]
    notify = notify or (lambda kind, payload: None)
    st = open_store(store)
    env_diff = (
        diff_environments(bundle["environment"], capture_environment())
        if bundle["environment"]
        else {}
    )
    if env_diff:
        from nbtrack.capture.environment import format_environment_diff

        notify("environment", format_environment_diff(env_diff))
    with tempfile.TemporaryDirectory(prefix="nbtrack-bundle-") as tmp:
        root = bundle["extract"](tmp)
        reads: dict[int, list[str]] = {}
        changed_inputs: dict[str, str] = {}
        for entry in bundle["inputs"]:
            target = entry["path"] if os.path.isabs(entry["path"]) else str(root / entry["path"])
            how = _file_change(target, entry.get("hash"))
            if how:
                changed_inputs[target] = how
                notify("input", f"input {entry['path']} {how} since recording")
            for i in entry.get("cells", []):
                reads.setdefault(i, []).append(target)
        for i, c in enumerate(cells):
            c["reads"] = reads.get(i, [])
        nb_name = (man.get("notebook") or {}).get("name") or "run.ipynb"
        row = {
            "id": man["run_id"],
            "name": man["name"],
            "experiment": man["experiment"],
            "notebook_path": str(root / nb_name),
        }
        replay_id = _execute(st, row, cells, str(root), kernel_name, notify)
    (replayed_row,) = st.run_summaries([replay_id])
    replayed = st.run_cells(replayed_row)
    report = compare(
        man["run_id"],
        replay_id,
        cells,
        replayed,
        env_diff,
        changed_inputs,
        [],
        _changed_packages(env_diff),
    )
    st.update_run(replay_id, reproduced=report.reproduced)
    return report


def _execute(
    st: Store,
    row: dict[str, Any],
    cells: list[dict[str, Any]],
    cwd: str,
    kernel_name: str | None,
    notify: Any,
) -> str:
    from nbtrack.reproduce.notebook_format import import_nbformat

    nbformat = import_nbformat()

    from nbtrack.reproduce.execute import execute_notebook

    nb = nbformat.v4.new_notebook()
    for c in cells:
        cell = nbformat.v4.new_code_cell(c["source"])
        if c.get("cell_id"):
            cell["id"] = c["cell_id"] if _valid_cell_id(c["cell_id"]) else cell["id"]
        nb.cells.append(cell)
    replay_id = uuid.uuid4().hex
    kwargs = {
        "name": f"replay of {row['name']}"[:256],
        "experiment": row["experiment"],
        "run_id": replay_id,
        "tags": {"nbtrack.replay_of": row["id"]},
    }
    setup = (
        "%load_ext nbtrack\nimport nbtrack as _nbtrack_\n"
        f"_nbtrack_.start_run(**{kwargs!r})\ndel _nbtrack_"
    )
    total = len(cells)
    execute_notebook(
        nb,
        cwd=cwd,
        env={"NBTRACK_STORE": st.url, "JPY_SESSION_NAME": row.get("notebook_path") or ""},
        setup=setup,
        teardown=lambda ok: "import nbtrack as _nbtrack_\n_nbtrack_.end_run()\ndel _nbtrack_",
        allow_errors=True,
        kernel_name=kernel_name,
        on_cell=lambda index, cell, error: notify("cell", (index + 1, total)),
    )
    st.update_run(replay_id, replay_of=row["id"])
    return replay_id


def _valid_cell_id(cell_id: str) -> bool:
    import re

    return bool(re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", cell_id))


def compare(
    run_id: str,
    replay_id: str | None,
    recorded: list[dict[str, Any]],
    replayed: list[dict[str, Any]],
    env_diff: dict[str, Any],
    changed_inputs: dict[str, str],
    changed_code: list[tuple[str, str]],
    packages: dict[str, tuple[str | None, str | None]],
) -> ReplayReport:
    """Cell-by-cell comparison of recorded and replayed sequences (same order, same sources)."""
    from nbtrack.reproduce.diagnose import likely_causes

    divergences: list[Divergence] = []
    matched = unverified = 0
    diverged_names: set[str] = set()
    for i, rec in enumerate(recorded):
        rep = replayed[i] if i < len(replayed) else None
        if rec["status"] == "history":
            unverified += 1
            matched += 1
            continue
        if rep is None:
            divergences.append(
                Divergence(
                    i,
                    rec["execution_count"],
                    rec["source"],
                    {},
                    {
                        "recorded": rec["error"],
                        "replayed": {
                            "type": "NotExecuted",
                            "message": "the replay stopped before this cell",
                        },
                    },
                )
            )
            continue
        written = {
            n for c in (rec, rep) for key in ("created", "changed", "deleted") for n in c[key]
        }
        variables = {
            name: {"recorded": rec["state"].get(name), "replayed": rep["state"].get(name)}
            for name in sorted(set(rec["state"]) | set(rep["state"]))
            if rec["state"].get(name) != rep["state"].get(name)
            and (
                name in written or name not in diverged_names
            )  # earlier differences carried along are not new
        }
        same_outcome = (rec["error"] or None) == (rep["error"] or None)
        if not variables and same_outcome:
            matched += 1
            continue
        error = None if same_outcome else {"recorded": rec["error"], "replayed": rep["error"]}
        new_names = set(variables) - diverged_names
        d = Divergence(i, rec["execution_count"], rec["source"], variables, error)
        d.causes = likely_causes(recorded, i, changed_inputs, packages, diverged_names)
        diverged_names |= new_names
        if new_names or error:
            divergences.append(d)
        else:  # only carries earlier differences forward: not a new divergence
            matched += 1
    return ReplayReport(
        run_id=run_id,
        replay_run_id=replay_id,
        reproduced=not divergences,
        cells_total=len(recorded),
        cells_matched=matched,
        divergences=divergences,
        environment_diff=env_diff,
        changed_inputs=changed_inputs,
        changed_code=changed_code,
        unverified=unverified,
    )


def _environment_diff(
    st: Store, row: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, tuple[str | None, str | None]]]:
    from nbtrack.capture.environment import capture_environment, diff_environments
    from nbtrack.query.runs import environment_of

    recorded = environment_of(st, row.get("env_hash"))
    if recorded is None:
        return {}, {}
    diff = diff_environments(recorded, capture_environment())
    return diff, _changed_packages(diff)


def _changed_packages(diff: dict[str, Any]) -> dict[str, tuple[str | None, str | None]]:
    pk = diff.get("packages", {})
    packages: dict[str, tuple[str | None, str | None]] = {
        n: (None, v) for n, v in pk.get("added", {}).items()
    }
    packages.update({n: (v, None) for n, v in pk.get("removed", {}).items()})
    packages.update({n: (old, new) for n, (old, new) in pk.get("changed", {}).items()})
    return packages


def _file_change(path: str, recorded: str | None) -> str | None:
    """``"changed"`` or ``"is missing"`` when the file no longer has the recorded content."""
    from nbtrack.store.blobs import content_hash

    try:
        with open(path, "rb") as f:
            now = content_hash(f.read())
    except OSError:
        return "is missing"
    return "changed" if recorded is not None and now != recorded else None


def _reads_by_seq(st: Store, row: dict[str, Any]) -> dict[int | None, list[tuple[str, str | None]]]:
    reads: dict[int | None, list[tuple[str, str | None]]] = {}
    for ev in st.file_events_of(row):
        if ev["mode"] in ("read", "input"):
            reads.setdefault(ev["seq"], []).append((ev["path"], ev["hash"]))
    return reads


def _changed_inputs(reads: dict[int | None, list[tuple[str, str | None]]]) -> dict[str, str]:
    changed: dict[str, str] = {}
    for events in reads.values():
        for path, recorded in events:
            if path not in changed and recorded is not None:
                how = _file_change(path, recorded)
                if how:
                    changed[path] = how
    return changed


def _changed_code(st: Store, row: dict[str, Any]) -> list[tuple[str, str]]:
    if not row.get("snapshot_hash"):
        return []
    try:
        from nbtrack.capture.snapshot import changed_files
    except ImportError:
        return []
    root = os.path.dirname(row.get("notebook_path") or "") or os.getcwd()
    return list(changed_files(st, row["snapshot_hash"], root))
