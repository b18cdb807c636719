"""Replay a run in a fresh kernel: rebuild its cells (from the store or a bundle), execute them
with nbtrack recording, and compare the state after every cell (:mod:`.comparison`), reporting
what changed since recording (:mod:`.drift`) in a :class:`~.report.ReplayReport`. The kernel
is this environment's, or (``env="recorded"``) one recreated from the run's recorded packages
(:mod:`.requirements` plans it, :mod:`.environment` builds and caches it)."""

from __future__ import annotations

import os
import platform
import tempfile
import uuid
from dataclasses import asdict
from typing import Any

from nbtrack.errors import NbtrackError, ValidationError
from nbtrack.reproduce import drift
from nbtrack.reproduce.comparison import compare
from nbtrack.reproduce.execute import QUICK_EXIT
from nbtrack.reproduce.imports import imported_distributions, normalise
from nbtrack.reproduce.report import ReplayReport
from nbtrack.store import Store, open_store


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
    env: str = "current",
) -> ReplayReport:
    """Execute a run's recorded cell sequence in a fresh kernel and compare state cell by cell.

    ``env="recorded"`` replays in a virtual environment recreated from the run's recorded
    packages (:mod:`.requirements`, :mod:`.environment`); ``"current"`` in this one (or
    ``kernel_name``'s).

    ``notify(kind, payload)`` receives ``("env", {phase, done, total, text})`` while an
    environment is recreated, ``("environment", summary lines)`` and
    ``("environment_all", every difference)``, ``("input", line)`` and
    ``("cell", (index, total))`` events as the replay goes (the CLI and server show them)."""
    if env not in ENV_MODES:
        raise ValidationError(f"env must be one of {', '.join(ENV_MODES)}, got {env!r}")
    if env == "recorded" and kernel_name:
        raise ValidationError("give either env='recorded' or a kernel name, not both")
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
    kernel_dirs: list[str] | None = None
    built: Any = None
    recreated: dict[str, Any] = {}
    imported_before: dict[str, str] | None = None
    if env == "recorded":
        imported_before = _imported(st, row, cells)
        built, recreated = _recreate(st, row, cells, imported_before, notify)
        kernel_name, kernel_dirs = built.kernel_name, [built.kernel_dir]

    def drift_of() -> tuple[Any, ...]:
        """What changed since recording: computed while the replay's kernel starts."""
        imported = imported_before if imported_before is not None else _imported(st, row, cells)
        if built is not None:
            env_diff, packages = drift.environment_diff(
                st,
                row,
                built.environment,
                {normalise(n) for n in recreated["skipped"]} | {"nbtrack"},
            )
            described = recreated
        else:
            env_diff, packages = drift.environment_diff(st, row)
            described = {
                "mode": "current",
                "cached": False,
                "python": platform.python_version(),
                "installed": {},
                "unmatched": [],
            }
        described["imported"] = _imported_versions(imported, env_diff, row, st, described)
        reads = drift.reads_by_seq(st, row)
        return (
            imported,
            env_diff,
            packages,
            described,
            reads,
            drift.changed_inputs(reads),
            drift.changed_code(st, row),
        )

    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix="nbtrack-replay-drift")
    pending = pool.submit(drift_of)
    found: dict[str, tuple[Any, ...]] = {}

    def announce() -> None:
        """Before the first cell, in the order the events always came."""
        (imported, env_diff, _, _, _, changed_inputs, changed_code) = found["drift"] = (
            pending.result()
        )
        _announce(env_diff, set(imported), notify)
        for path, how in changed_inputs.items():
            notify("input", f"input {path} {how} since recording")
        for path, how in changed_code:
            notify("code", f"local file {path} {how} since recording")

    nb_dir = os.path.dirname(row.get("notebook_path") or "") or os.getcwd()
    try:
        with tempfile.TemporaryDirectory(prefix="nbtrack-replay-") as tmp:
            cwd = nb_dir
            if use_snapshot and row.get("snapshot_hash"):
                from nbtrack.capture.snapshot import restore_snapshot

                cwd = os.path.join(tmp, "snapshot")
                restore_snapshot(st, row["snapshot_hash"], cwd)
            replay_id = _execute(
                st,
                row,
                cells,
                cwd,
                kernel_name,
                notify,
                kernel_dirs,
                announce,
                exit_in_background=cwd == nb_dir,  # not in a folder removed when this returns
            )
    finally:
        pool.shutdown(wait=True)
    if "drift" not in found:  # pragma: no cover - the kernel had no code cell to run
        announce()
    (_, env_diff, packages, described, reads, changed_inputs, changed_code) = found["drift"]
    (replayed_row,) = st.run_summaries([replay_id])
    replayed = st.run_cells(replayed_row)
    for c in cells:
        c["reads"] = [path for path, _ in reads.get(c["seq"], [])]
    report = compare(
        run_id,
        replay_id,
        cells,
        replayed,
        env_diff,
        changed_inputs,
        changed_code,
        packages,
        _hash_schemes(st, row, replayed_row),
    )
    report.environment = described
    st.update_run(replay_id, reproduced=report.reproduced)
    st.update_run(run_id, reproduced=report.reproduced)
    return report


ENV_MODES = ("current", "recorded")


def _imported(st: Store, row: dict[str, Any], cells: list[dict[str, Any]]) -> dict[str, str]:
    return imported_distributions([c["source"] for c in cells], _recorded_packages(st, row))


def _hash_schemes(st: Store, row: dict[str, Any], replayed: dict[str, Any]) -> tuple[int, int]:
    """The hash schemes the run and its replay recorded their state with (see capture.canonical)."""
    from nbtrack.capture.environment import hash_scheme, recorded_hash_scheme
    from nbtrack.query.runs import environment_of

    def env(r: dict[str, Any]) -> Any:
        h = r.get("env_hash")
        if not h and r.get("session_id"):
            h = (st.session(r["session_id"]) or {}).get("env_hash")
        return environment_of(st, h) if h else None

    rec = env(row)
    rep = env(replayed)
    return (
        recorded_hash_scheme(rec) if rec else 1,
        recorded_hash_scheme(rep) if rep else hash_scheme(),
    )


def _recorded_packages(st: Store, row: dict[str, Any]) -> dict[str, str]:
    from nbtrack.query.runs import environment_of

    recorded = environment_of(st, row.get("env_hash")) or {}
    return dict(recorded.get("packages") or {})


def _recreate(
    st: Store,
    row: dict[str, Any],
    cells: list[dict[str, Any]],
    imported: dict[str, str],
    notify: Any,
) -> tuple[Any, dict[str, Any]]:
    """The run's environment recreated (or found in the cache), and its report entry."""
    from nbtrack.query.runs import environment_of
    from nbtrack.reproduce.environment import ensure_environment
    from nbtrack.reproduce.requirements import plan_environment

    recorded = environment_of(st, row.get("env_hash"))
    if not recorded or not recorded.get("packages"):
        raise NbtrackError(
            f"run {row['id'][:8]} has no recorded environment to recreate; replay it with env='current'"
        )
    notify(
        "env",
        {"phase": "resolve", "done": 0, "total": 1, "text": "reading the recorded environment"},
    )
    plan = plan_environment(recorded, [c["source"] for c in cells], imported)
    notify(
        "env",
        {
            "phase": "resolve",
            "done": 1,
            "total": 1,
            "text": f"{len(plan.requirements)} packages to install; {len(plan.skipped)} recorded "
            "packages skipped (not imported by the run's cells)",
        },
    )
    built = ensure_environment(plan, notify)
    unmatched = [asdict(u) for u in plan.unmatched + built.unmatched]
    return built, {
        "mode": "recorded",
        "cached": built.cached,
        "python": str((built.environment.get("python") or {}).get("version") or plan.python),
        "installed": built.installed,
        "unmatched": unmatched,
        "skipped": plan.skipped,
        "path": str(built.path),
    }


def _imported_versions(
    imported: dict[str, str],
    diff: dict[str, Any],
    row: dict[str, Any],
    st: Store,
    environment: dict[str, Any],
) -> dict[str, str | None]:
    """``{distribution: version in the replay}`` for the distributions the cells import."""
    recorded = {normalise(n): v for n, v in _recorded_packages(st, row).items()}
    if environment["mode"] == "recorded":
        now = {normalise(n): v for n, v in environment["installed"].items()}
    else:
        changed = drift.changed_packages(diff)
        now = dict(recorded)
        now.update({normalise(n): new for n, (_, new) in changed.items()})
    return {key: now.get(key) for key in sorted(imported)}


def _announce(env_diff: dict[str, Any], imported: set[str], notify: Any) -> None:
    if not env_diff:
        return
    from nbtrack.capture.environment import format_environment_diff

    notify("environment", drift.summarise_environment(env_diff, imported))
    notify("environment_all", format_environment_diff(env_diff))


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
    imported = imported_distributions(
        [c["source"] for c in cells], dict((bundle["environment"] or {}).get("packages") or {})
    )
    _announce(env_diff, set(imported), notify)
    with tempfile.TemporaryDirectory(prefix="nbtrack-bundle-") as tmp:
        root = bundle["extract"](tmp)
        reads: dict[int, list[str]] = {}
        changed_inputs: dict[str, str] = {}
        for entry in bundle["inputs"]:
            target = entry["path"] if os.path.isabs(entry["path"]) else str(root / entry["path"])
            how = drift.file_change(target, entry.get("hash"))
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
        drift.changed_packages(env_diff),
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
    kernel_dirs: list[str] | None = None,
    on_ready: Any = None,
    *,
    exit_in_background: bool = False,
) -> str:
    """Execute ``cells`` in a fresh kernel recording a child run "replay of ..." of ``row``;
    returns its id. The kernel loads nbtrack while it starts, and (``exit_in_background``)
    exits while the verdict is computed."""
    from nbtrack.reproduce.notebook_format import import_nbformat

    nbformat = import_nbformat()

    from nbtrack.reproduce.execute import LOAD_NBTRACK, execute_notebook

    nb = nbformat.v4.new_notebook()
    # Built as new_code_cell builds them, without its per-cell schema validation and uuid4
    # (1.5 ms a cell here: 0.3 s of a 200-cell replay's start-up); the ids stay unique.
    fresh = uuid.uuid4().hex[:8]
    for i, c in enumerate(cells):
        cell_id = c.get("cell_id")
        nb.cells.append(
            nbformat.from_dict(
                {
                    "id": cell_id if cell_id and _valid_cell_id(cell_id) else f"{fresh}-{i}",
                    "cell_type": "code",
                    "metadata": {},
                    "execution_count": None,
                    "source": c["source"],
                    "outputs": [],
                }
            )
        )
    replay_id = uuid.uuid4().hex
    kwargs = {
        "name": f"replay of {row['name']}"[:256],
        "experiment": row["experiment"],
        "run_id": replay_id,
        "tags": {"nbtrack.replay_of": row["id"]},
    }
    setup = (
        f"{LOAD_NBTRACK}\nimport nbtrack as _nbtrack_\n"
        f"_nbtrack_.start_run(**{kwargs!r})\ndel _nbtrack_"
    )
    total = len(cells)
    execute_notebook(
        nb,
        cwd=cwd,
        env={"NBTRACK_STORE": st.url, "JPY_SESSION_NAME": row.get("notebook_path") or ""},
        setup=setup,
        teardown=lambda ok: TEARDOWN,
        allow_errors=True,
        kernel_name=kernel_name,
        on_cell=lambda index, cell, error: notify("cell", (index + 1, total)),
        kernel_dirs=kernel_dirs,
        on_ready=on_ready,
        extensions=("nbtrack",),  # its store opens while the kernel starts
        exit_in_background=exit_in_background,
    )
    st.update_run(replay_id, replay_of=row["id"])
    return replay_id


# The replay's run ends; then what the store has not taken yet (a busy store) is written,
# waiting as long as the kernel's exit would: the verdict is read while the kernel exits,
# which skips the interpreter's module teardown (quick_exit).
TEARDOWN = (
    "import nbtrack as _nbtrack_\n_nbtrack_.end_run()\n"
    "from nbtrack.recording.pending import backlog as _nbtrack_\n_nbtrack_.flush()\n"
    f"{QUICK_EXIT}\ndel _nbtrack_"
)


def _valid_cell_id(cell_id: str) -> bool:
    import re

    return bool(re.fullmatch(r"[a-zA-Z0-9-_]{1,64}", cell_id))
