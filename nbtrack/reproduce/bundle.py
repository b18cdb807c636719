"""A run as one ``.zip`` a colleague can rebuild and verify elsewhere (``nbtrack replay --bundle``).

Members::

    manifest.json      run id, name, experiment, params, tags, nbtrack version, times, notebook
                       name and hash, and ``cells``: the executed sequence (source, status,
                       error, created/changed/deleted/touched, state hashes after each cell)
    run.ipynb          the clean notebook (see nbtrack.reproduce.notebook.render_notebook)
    run.py             the percent script (see nbtrack.reproduce.export.render_script)
    requirements.txt   ``name==version`` of every distribution recorded in the run's environment
    environment.json   the recorded environment (Python, platform, packages), without local paths
    inputs.json        input files: path relative to the notebook's directory where possible,
                       content hash, size, mode, the cells that read them
    snapshot/...       the run's code snapshot, laid out as the notebook's directory
                       (files from outside it under ``snapshot/_external/``)

Nothing from outside the run goes in: no absolute paths of the notebook, the store or Python,
no other runs.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from nbtrack.errors import ValidationError

FORMAT = "nbtrack-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
NOTEBOOK = "run.ipynb"
SCRIPT = "run.py"
REQUIREMENTS = "requirements.txt"
ENVIRONMENT = "environment.json"
INPUTS = "inputs.json"
SNAPSHOT = "snapshot/"
_WHAT = {
    MANIFEST: "manifest: run, params, tags, metrics, cells",
    NOTEBOOK: "notebook",
    SCRIPT: "script",
    REQUIREMENTS: "requirements",
    ENVIRONMENT: "environment",
    INPUTS: "input files (paths and hashes)",
}
_CELL_KEYS = (
    "index",
    "execution_count",
    "cell_id",
    "source",
    "status",
    "error",
    "in_run",
    "created",
    "changed",
    "deleted",
    "touched",
    "state",
)


def write_bundle(
    store: Any,
    run: dict[str, Any],
    cells: Sequence[dict[str, Any]],
    output: str | os.PathLike[str],
    *,
    exported: float,
    on_contents: Callable[[list[dict[str, Any]]], None] | None = None,
) -> Path:
    """Write the bundle of ``run`` (a ``Store.run_summaries`` row) to ``output``;
    ``on_contents`` receives its members first, before anything is written:
    ``[{name, size, what}]`` (``what``: e.g. ``snapshot file conf/settings.yaml``)."""
    from nbtrack.capture.snapshot import member_path, snapshot_files
    from nbtrack.outfiles import write_atomic
    from nbtrack.query.runs import environment_of, run_directory
    from nbtrack.reproduce.notebook import notebook_bytes, recorded_kernelspec, render_notebook
    from nbtrack.reproduce.script import render_script

    env_hash = run.get("env_hash") or _session_env(store, run)
    env = environment_of(store, env_hash) or {}
    snapshot = snapshot_files(store, run["snapshot_hash"]) if run.get("snapshot_hash") else {}
    base = run_directory(store, run, must_exist=False)
    members: dict[str, bytes] = {
        MANIFEST: _manifest_json(manifest(run, cells, env, snapshot, exported)),
        NOTEBOOK: notebook_bytes(
            render_notebook(
                run, cells, exported=exported, kernelspec=recorded_kernelspec(store, run)
            )
        ),
        SCRIPT: render_script(run, cells, exported=exported).encode(),
        REQUIREMENTS: requirements(run, env).encode(),
        ENVIRONMENT: _json(_public_environment(env)),
        INPUTS: _json(inputs(store.file_events_of(run), cells, base)),
    }
    what = dict(_WHAT)
    for key, h in sorted(snapshot.items()):
        members[SNAPSHOT + member_path(key)] = store.get_blob(h)
        what[SNAPSHOT + member_path(key)] = f"snapshot file {key}"
    if on_contents is not None:
        on_contents(
            [{"name": n, "size": len(d), "what": what.get(n, n)} for n, d in members.items()]
        )
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_zip_time(exported))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    path = Path(output)
    write_atomic(path, buf.getvalue())
    return path


def _zip_time(ts: float) -> tuple[int, int, int, int, int, int]:
    import time

    t = time.gmtime(ts)
    return (max(t.tm_year, 1980), t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def _json(data: Any) -> bytes:
    return (
        json.dumps(data, indent=1, sort_keys=False, ensure_ascii=False, default=str) + "\n"
    ).encode()


def _manifest_json(man: dict[str, Any]) -> bytes:
    """Indented, except one line per cell (and the final state on one line): a 500-cell
    manifest encodes in milliseconds with json's C encoder instead of a second in Python."""
    man = dict(man)
    cells, state = man.pop("cells"), man.pop("final_state")

    def compact(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)

    head = json.dumps(man, indent=1, ensure_ascii=False, default=str)
    rows = ",\n".join(f"  {compact(c)}" for c in cells)
    return (
        f'{head[:-2]},\n "final_state": {compact(state)},\n "cells": [\n{rows}\n ]\n}}\n'.encode()
    )


def _session_env(store: Any, run: dict[str, Any]) -> str | None:
    session = store.session(run["session_id"]) if run.get("session_id") else None
    return session.get("env_hash") if session else None


def manifest(
    run: dict[str, Any],
    cells: Sequence[dict[str, Any]],
    env: dict[str, Any],
    snapshot: dict[str, str],
    exported: float,
) -> dict[str, Any]:
    from nbtrack.capture.snapshot import member_path
    from nbtrack.query.runs import iso, json_number
    from nbtrack.version import __version__

    nb_path = run.get("notebook_path")
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "run_id": run["id"],
        "name": run["name"],
        "experiment": run["experiment"],
        "status": run["status"],
        "params": dict(sorted(run["params"].items())),
        "tags": dict(sorted(run["tags"].items())),
        "metrics": {k: json_number(v) for k, v in sorted(run["metrics"].items())},
        "created": iso(run["start_time"]),
        "ended": iso(run.get("end_time")),
        "exported": iso(exported),
        "nbtrack_version": __version__,
        "notebook": {
            "name": os.path.basename(nb_path) if nb_path else None,
            "hash": run.get("notebook_hash"),
            "git_commit": run.get("git_commit"),
            "git_dirty": run.get("git_diff_hash") is not None,
        },
        "python": {k: (env.get("python") or {}).get(k) for k in ("version", "implementation")},
        "platform": env.get("platform"),
        "files": {
            "notebook": NOTEBOOK,
            "script": SCRIPT,
            "requirements": REQUIREMENTS,
            "environment": ENVIRONMENT,
            "inputs": INPUTS,
            "snapshot": SNAPSHOT,
        },
        "snapshot": {
            key: {"hash": h, "member": SNAPSHOT + member_path(key)}
            for key, h in sorted(snapshot.items())
        },
        "final_state": dict(cells[-1]["state"]) if cells else {},
        "cells": [{k: c.get(k) for k in _CELL_KEYS} for c in cells],
    }


def requirements(run: dict[str, Any], env: dict[str, Any]) -> str:
    py = env.get("python") or {}
    plat = env.get("platform") or {}
    lines = [
        f"# The environment of nbtrack run {run['id']}: {py.get('implementation', 'Python')} "
        f"{py.get('version', '?')} on {plat.get('system', '?')} {plat.get('machine', '')}".rstrip(),
        "# pip install -r requirements.txt",
    ]
    packages = env.get("packages") or {}
    if not packages:
        lines.append("# (no environment was recorded for this run)")
    lines += [f"{name}=={version}" for name, version in sorted(packages.items())]
    return "\n".join(lines) + "\n"


def _public_environment(env: dict[str, Any]) -> dict[str, Any]:
    out = dict(env)
    if isinstance(out.get("python"), dict):
        out["python"] = {k: v for k, v in out["python"].items() if k != "executable"}
    return out


def inputs(
    events: Sequence[dict[str, Any]], cells: Sequence[dict[str, Any]], base: str | None
) -> list[dict[str, Any]]:
    """One entry per (path, content hash) read or declared, in first-read order."""
    position = {c["seq"]: c["index"] for c in cells}
    written = {e["path"] for e in events if e["mode"] == "write"}
    out: dict[tuple[str, str | None], dict[str, Any]] = {}
    for e in events:
        if e["mode"] not in ("read", "input"):
            continue
        key = (e["path"], e["hash"])
        entry = out.get(key)
        if entry is None:
            entry = out[key] = {
                "path": relative_path(e["path"], base),
                "hash": e["hash"],
                "size": e["size"],
                "mode": e["mode"],
                "cells": [],
                "written_by_run": e["path"] in written,
            }
        elif e["mode"] == "input":
            entry["mode"] = "input"
        i = position.get(e.get("seq"))
        if i is not None and i not in entry["cells"]:
            entry["cells"].append(i)
    return list(out.values())


def relative_path(path: str, base: str | None) -> str:
    """``path`` relative to ``base`` when inside it (POSIX separators), else as recorded."""
    if base:
        try:
            rel = os.path.relpath(path, base)
        except ValueError:  # another drive
            return path
        if rel != ".." and not rel.startswith(".." + os.sep):
            return rel.replace(os.sep, "/")
    return path


# -- reading --------------------------------------------------------------------------------
MAX_MEMBER = 64 << 20  # bytes of a JSON/text member read into memory (manifest, notebook...)
_HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def read_bundle(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Open a bundle written by ``nbtrack export --format bundle``.

    Returns a dict:

    - ``manifest``: the manifest (see the module docstring); ``manifest["cells"]`` has the
      shape of ``Store.run_cells`` (index, execution_count, cell_id, source, status, error,
      in_run, created, changed, deleted, touched, state), so a replay can compare against it.
    - ``cells``: the same list, for convenience; ``final_state``: ``{name: hash}``.
    - ``environment``: the recorded environment (as ``records.environment_of``).
    - ``inputs``: the entries of inputs.json; ``requirements``: the text of requirements.txt.
    - ``notebook``: the clean notebook (an nbformat node); ``script``: the script's text.
    - ``snapshot``: ``{snapshot path: member name}``; ``members``: every member name.
    - ``read(name) -> bytes``: any member's content (read from the zip when asked).
    - ``extract(target_dir) -> Path``: :func:`extract_bundle` of this bundle: the snapshot
      written to ``target_dir`` (the notebook's directory to replay in), plus run.ipynb/run.py.

    Only the small members are read (each at most ``MAX_MEMBER`` bytes, else ValidationError);
    snapshot files are streamed to disk by ``extract``, so memory does not grow with them. The
    manifest's run id, name, experiment and notebook name are checked as the logging API checks
    them (a crafted name with a newline, or a notebook name with a path, is refused).
    """
    from nbtrack.reproduce.notebook_format import import_nbformat

    nbformat = import_nbformat()

    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ValidationError(
            f"{path} is not an nbtrack bundle (a .zip from `nbtrack export --format bundle`): {exc}"
        ) from None
    with zf:
        names = zf.namelist()
        if MANIFEST not in names:
            raise ValidationError(f"{path} is not an nbtrack bundle: it has no {MANIFEST}")
        data = {
            n: _read_small(zf, path, n)
            for n in (MANIFEST, ENVIRONMENT, INPUTS, REQUIREMENTS, NOTEBOOK, SCRIPT)
            if n in names
        }
    try:
        man = json.loads(data[MANIFEST])
    except ValueError as exc:
        raise ValidationError(f"{path}: {MANIFEST} is not JSON ({exc})") from None
    if (
        not isinstance(man, dict)
        or man.get("format") != FORMAT
        or int(man.get("format_version", 0)) > FORMAT_VERSION
    ):
        found = man.get("format") if isinstance(man, dict) else None
        version = man.get("format_version") if isinstance(man, dict) else None
        raise ValidationError(f"{path}: unsupported bundle format {found!r} v{version}")
    _check_manifest(path, man)

    def read(name: str) -> bytes:
        if name in data:
            return data[name]
        if name not in names:
            raise ValidationError(f"{path} has no member {name!r}")
        with zipfile.ZipFile(path) as z:
            return z.read(name)

    return {
        "path": path,
        "manifest": man,
        "cells": man["cells"],
        "final_state": man.get("final_state", {}),
        "environment": json.loads(data[ENVIRONMENT]) if ENVIRONMENT in data else {},
        "inputs": json.loads(data[INPUTS]) if INPUTS in data else [],
        "requirements": data.get(REQUIREMENTS, b"").decode(),
        "notebook": nbformat.reads(data[NOTEBOOK].decode(), as_version=4)
        if NOTEBOOK in data
        else None,
        "script": data.get(SCRIPT, b"").decode(),
        "snapshot": {k: v["member"] for k, v in man.get("snapshot", {}).items()},
        "members": names,
        "read": read,
        "extract": lambda target_dir: extract_bundle(path, target_dir),
    }


def _read_small(zf: zipfile.ZipFile, path: Path, name: str) -> bytes:
    size = zf.getinfo(name).file_size
    if size > MAX_MEMBER:
        raise ValidationError(
            f"{path}: member {name} is {size:,} bytes, over the {MAX_MEMBER >> 20} MB a bundle's "
            "manifest, notebook, script or environment may take"
        )
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(f"{path}: member {name} is unreadable ({exc})") from None


def _check_manifest(path: Path, man: dict[str, Any]) -> None:
    """The fields a replay stores or uses as paths, checked as the logging API checks them."""
    from nbtrack.validation import check_label

    try:
        if not isinstance(man.get("run_id"), str) or not _HEX_ID.match(man["run_id"]):
            raise ValidationError(f"run_id must be 32 hex digits, got {man.get('run_id')!r:.60}")
        man["name"] = check_label("run name", man.get("name"))
        man["experiment"] = check_label("experiment name", man.get("experiment"))
        nb = (
            (man.get("notebook") or {}).get("name")
            if isinstance(man.get("notebook"), dict)
            else None
        )
        if nb is not None and (
            not isinstance(nb, str) or nb in ("", ".", "..") or "/" in nb or "\\" in nb
        ):
            raise ValidationError(f"notebook name must be a file name, got {nb!r:.80}")
        snapshot = man.get("snapshot", {})
        if not isinstance(snapshot, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("member"), str) for v in snapshot.values()
        ):
            raise ValidationError("snapshot must map paths to their members")
        if not isinstance(man.get("cells"), list) or not all(
            isinstance(c, dict) and isinstance(c.get("source"), str) for c in man["cells"]
        ):
            raise ValidationError("cells must be a list of cells with their source")
    except ValidationError as exc:
        raise ValidationError(f"{path}: {MANIFEST}: {exc}") from None


def extract_bundle(path: str | os.PathLike[str], target_dir: str | os.PathLike[str]) -> Path:
    """Write the bundle's snapshot files into ``target_dir`` as the notebook's directory, with
    ``run.ipynb`` and ``run.py`` beside them (unless the snapshot has files of those names).
    Members are streamed to disk, never held whole in memory."""
    import shutil

    target = Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        wanted = [(n, n[len(SNAPSHOT) :]) for n in names if n.startswith(SNAPSHOT)]
        taken = {rel for _, rel in wanted}
        wanted += [(n, n) for n in (NOTEBOOK, SCRIPT) if n in names and n not in taken]
        for name, rel in wanted:
            parts = PurePosixPath(rel).parts
            if not parts or ".." in parts or PurePosixPath(rel).is_absolute():
                raise ValidationError(f"bundle member {name!r} would be written outside {target}")
            if name.endswith("/"):
                continue
            dest = target.joinpath(*parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(name) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    return target
