"""The environment a kernel runs in: Python, platform, CPU, memory, installed distributions, GPUs.

Captured once per kernel session and stored once per distinct content (see
:func:`environment_bytes`). Environment variables are never read into it: their values may
be secrets.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from typing import Any

from nbtrack.redaction import redact_tree

NVIDIA_SMI_TIMEOUT = 5.0


def capture_environment() -> dict[str, Any]:
    """Describe this process's environment as a JSON-ready dict (about 40 ms). Its strings go
    through the redactor (a path holding a URL password never gets in); package names are
    names, not secrets (``google-auth`` keeps its version)."""
    described = redact_tree(
        {
            "python": {
                "version": platform.python_version(),
                "implementation": platform.python_implementation(),
                "executable": sys.executable,
            },
            "platform": {
                "system": platform.system(),
                "release": platform.release(),
                "machine": platform.machine(),
                "platform": platform.platform(),
            },
            "cpu": {"count": os.cpu_count(), "model": _cpu_model()},
            "memory_total": _memory_total(),
            "gpus": _gpus(),
        }
    )
    return {**described, "packages": _packages(), "nbtrack": {"hash_scheme": hash_scheme()}}


def hash_scheme() -> int:
    """The version of the state hashes this process records."""
    from nbtrack.capture.hash_scheme import HASH_SCHEME

    return HASH_SCHEME


def recorded_hash_scheme(env: dict[str, Any] | None) -> int:
    """The hash scheme an environment manifest was recorded with: 1 before it was written down."""
    scheme = ((env or {}).get("nbtrack") or {}).get("hash_scheme")
    return scheme if isinstance(scheme, int) else 1


def environment_bytes(env: dict[str, Any]) -> bytes:
    """Canonical JSON of ``env``: equal environments give equal bytes, hence one blob."""
    return json.dumps(env, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def diff_environments(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What changed from ``old`` (recorded) to ``new`` (replayed); only the parts that differ.

    Python differs when its version or implementation does (not merely its path); package
    names are compared PEP 503-normalised so a respelt name is not an add plus a remove.
    """
    diff: dict[str, Any] = {}
    old_py, new_py = old.get("python") or {}, new.get("python") or {}
    keys = ("version", "implementation")
    if [old_py.get(k) for k in keys] != [new_py.get(k) for k in keys]:
        diff["python"] = {"recorded": old_py, "replayed": new_py}
    if (old.get("platform") or {}) != (new.get("platform") or {}):
        diff["platform"] = {"recorded": old.get("platform"), "replayed": new.get("platform")}
    packages = _diff_packages(old.get("packages") or {}, new.get("packages") or {})
    if packages:
        diff["packages"] = packages
    return diff


def format_environment_diff(diff: dict[str, Any]) -> list[str]:
    """One human-readable line per difference, for CLI reports."""
    lines = []
    if "python" in diff:
        rec, rep = diff["python"]["recorded"] or {}, diff["python"]["replayed"] or {}
        lines.append(f"python: {_python_label(rec)} -> {_python_label(rep)}")
    if "platform" in diff:
        rec, rep = diff["platform"]["recorded"] or {}, diff["platform"]["replayed"] or {}
        lines.append(f"platform: {rec.get('platform', '?')} -> {rep.get('platform', '?')}")
    packages = diff.get("packages") or {}
    rows = [(name, "not installed", ver) for name, ver in packages.get("added", {}).items()]
    rows += [(name, ver, "not installed") for name, ver in packages.get("removed", {}).items()]
    rows += [(name, old, new) for name, (old, new) in packages.get("changed", {}).items()]
    lines += [f"package {name}: {old} -> {new}" for name, old, new in sorted(rows)]
    return lines


def _python_label(py: dict[str, Any]) -> str:
    return f"{py.get('implementation', '?')} {py.get('version', '?')}"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _diff_packages(old: dict[str, str], new: dict[str, str]) -> dict[str, Any]:
    old_n = {_normalise(k): (k, v) for k, v in old.items()}
    new_n = {_normalise(k): (k, v) for k, v in new.items()}
    added = {new_n[k][0]: new_n[k][1] for k in sorted(new_n.keys() - old_n.keys())}
    removed = {old_n[k][0]: old_n[k][1] for k in sorted(old_n.keys() - new_n.keys())}
    changed = {
        new_n[k][0]: [old_n[k][1], new_n[k][1]]
        for k in sorted(old_n.keys() & new_n.keys())
        if old_n[k][1] != new_n[k][1]
    }
    parts = {"added": added, "removed": removed, "changed": changed}
    return {k: v for k, v in parts.items() if v}


# (sys.path entries with their directories' mtimes) -> packages found there: installing,
# upgrading or removing a distribution adds or removes a *.dist-info directory, which changes
# the mtime of the directory holding it, so a long-lived process (the server, a notebook
# calling nbtrack.replay) scans METADATA files again only after such a change.
_packages_cache: tuple[tuple[tuple[str, int], ...], dict[str, str]] | None = None


def _packages() -> dict[str, str]:
    """``{name.lower(): version}`` of every installed distribution, the first on sys.path winning.

    Reads only the header of each METADATA file: going through ``Distribution.metadata``
    runs the email parser over every long description and is ten times slower.
    """
    global _packages_cache
    key = _path_key()
    cached = _packages_cache
    if cached is not None and cached[0] == key:
        return dict(cached[1])
    found = _scan_packages()
    # A directory changed within the last seconds could change again within the same coarse
    # mtime tick, unseen (git's "racy" entries): only an older state is trusted to the cache.
    if max((mtime for _, mtime in key), default=0) < time.time_ns() - 2_000_000_000:
        _packages_cache = (key, found)
    return dict(found)


def _path_key() -> tuple[tuple[str, int], ...]:
    key = []
    for entry in sys.path:
        try:
            key.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            key.append((entry, -1))
    return tuple(key)


def _scan_packages() -> dict[str, str]:
    from importlib import metadata

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        try:
            text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
        except (OSError, UnicodeDecodeError):
            continue
        name = version = None
        for line in text.splitlines():
            if not line:
                break  # end of the header
            if line.startswith("Name:"):
                name = line[5:].strip()
            elif line.startswith("Version:"):
                version = line[8:].strip()
            if name and version:
                break
        if name and version:
            found.setdefault(name.lower(), version)
    return dict(sorted(found.items()))


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("model name", "Hardware", "Processor")):
                    return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    return platform.processor() or None


def _memory_total() -> int | None:
    """Total physical memory in bytes: ``MemTotal`` of /proc/meminfo (what psutil reports on
    Linux, without importing psutil: 80 ms), else psutil's."""
    try:
        with open("/proc/meminfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    value, unit = line.split()[1:3]
                    if unit == "kB":
                        return int(value) * 1024
    except (OSError, ValueError):
        pass
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:
        return None


def _gpus() -> list[dict[str, Any]]:
    """NVIDIA GPUs through NVML when pynvml is importable, else ``nvidia-smi``, else none."""
    try:
        import pynvml  # type: ignore[import-not-found]
    except ImportError:
        return _gpus_from_nvidia_smi()
    try:
        pynvml.nvmlInit()
    except Exception:
        return []
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            gpus.append(
                {
                    "name": _text(pynvml.nvmlDeviceGetName(handle)),
                    "memory_total": int(pynvml.nvmlDeviceGetMemoryInfo(handle).total),
                    "driver": driver,
                }
            )
        return gpus
    except Exception:
        return []
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def _gpus_from_nvidia_smi() -> list[dict[str, Any]]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    query = "--query-gpu=name,memory.total,driver_version"
    try:
        out = subprocess.run(
            [smi, query, "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=NVIDIA_SMI_TIMEOUT,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3:
            continue
        name, mib, driver = parts
        memory = int(float(mib) * 2**20) if mib.replace(".", "", 1).isdigit() else None
        gpus.append({"name": name, "memory_total": memory, "driver": driver})
    return gpus


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
