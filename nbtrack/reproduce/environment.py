"""Recreated environments: a virtual environment per :class:`~.requirements.EnvironmentPlan`,
built with this interpreter's pip and index configuration, holding an ipykernel whose kernel
spec lives inside it (the user's kernelspecs are not touched) and the current nbtrack source.

Environments are cached under ``$NBTRACK_ENV_CACHE`` (default
``$XDG_CACHE_HOME/nbtrack/envs``) by the plan's content hash. One is built in a temporary
directory and renamed into place when complete, so a half-built environment is never reused."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbtrack.errors import NbtrackError
from nbtrack.reproduce.imports import normalise
from nbtrack.reproduce.requirements import EnvironmentPlan, Unmatched

Notify = Callable[[str, Any], None]
MARKER = "nbtrack-environment.json"


class EnvironmentBuildError(NbtrackError):
    """A recreated environment could not be built (venv, pip or ipykernel failed)."""


@dataclass
class BuiltEnvironment:
    """A ready environment: where it is, its kernel, what it holds, whether it was cached."""

    path: Path
    kernel_name: str
    kernel_dir: str
    environment: dict[str, Any]  # as nbtrack.capture.environment records one, taken inside it
    cached: bool
    unmatched: list[Unmatched] = field(default_factory=list)

    @property
    def installed(self) -> dict[str, str]:
        return dict(self.environment.get("packages") or {})


def cache_root() -> Path:
    """Where recreated environments live: ``$NBTRACK_ENV_CACHE`` or the XDG cache."""
    explicit = os.environ.get("NBTRACK_ENV_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "nbtrack" / "envs"


def ensure_environment(plan: EnvironmentPlan, notify: Notify | None = None) -> BuiltEnvironment:
    """The environment for ``plan``: from the cache when built before, else built now.

    ``notify("env", {"phase", "done", "total", "text"})`` reports each step: ``create``,
    ``install`` (one event per package pip collects), ``kernel``, then ``ready`` or ``cached``."""
    say = notify or (lambda kind, payload: None)
    root = cache_root()
    final = root / plan.key
    found = _load(final)
    if found is not None:
        say("env", _event("cached", 1, 1, f"using the environment cached at {final}"))
        return found
    root.mkdir(parents=True, exist_ok=True)
    _sweep(root)
    tmp = root / f".building-{plan.key}-{uuid.uuid4().hex[:8]}"
    try:
        unmatched = _build(plan, tmp, final, say)
        if final.exists() and _load(final) is None:
            shutil.rmtree(final)  # not one of ours: every build is renamed in with its marker
        try:
            os.rename(tmp, final)
        except OSError:
            if _load(final) is None:  # not another build finishing first: a real failure
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    built = _load(final)
    if built is None:  # pragma: no cover - the rename above completed
        raise EnvironmentBuildError(f"the environment at {final} is incomplete")
    built.cached = False
    built.unmatched = unmatched
    say("env", _event("ready", 1, 1, f"environment ready at {final}"))
    return built


def _sweep(root: Path, age: float = 86400.0) -> None:
    """Remove builds a killed process left behind (a day old: no build takes that long)."""
    import time

    for stale in root.glob(".building-*"):
        try:
            if time.time() - stale.stat().st_mtime > age:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            continue


def _event(phase: str, done: int, total: int, text: str) -> dict[str, Any]:
    return {"phase": phase, "done": done, "total": total, "text": text}


def _load(path: Path) -> BuiltEnvironment | None:
    try:
        data = json.loads((path / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return BuiltEnvironment(
        path=path,
        kernel_name=data["kernel_name"],
        kernel_dir=str(path / "share" / "nbtrack-kernels"),
        environment=data["environment"],
        cached=True,
        unmatched=[Unmatched(**u) for u in data.get("unmatched", [])],
    )


def _build(plan: EnvironmentPlan, tmp: Path, final: Path, say: Notify) -> list[Unmatched]:
    say("env", _event("create", 0, 1, f"creating a virtual environment (Python {plan.python})"))
    own_pip = _has_pip()
    args = [sys.executable, "-m", "venv", *([] if not own_pip else ["--without-pip"]), str(tmp)]
    _run(args, "could not create a virtual environment")
    python = tmp / "bin" / "python"
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig;print(sysconfig.get_path('purelib'))"], ""
        ).strip()
    )
    # The current nbtrack source, by a link: the kernel can `%load_ext nbtrack` and records
    # with the code that compares the replay.
    os.symlink(plan.nbtrack_source, site / "nbtrack", target_is_directory=True)
    say("env", _event("create", 1, 1, "virtual environment created"))
    pip = (
        [sys.executable, "-m", "pip", "--python", str(python)]
        if own_pip
        else [str(python), "-m", "pip"]
    )
    unmatched = _install(pip, plan.requirements, set(plan.imported), say)
    say("env", _event("kernel", 0, 1, "registering the kernel"))
    kernel_name = f"nbtrack-env-{plan.key[:12]}"
    spec_dir = tmp / "share" / "nbtrack-kernels" / kernel_name
    spec_dir.mkdir(parents=True)
    final_bin = str(final / "bin")
    spec = {
        "argv": [f"{final_bin}/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"nbtrack replay (Python {plan.python}, {plan.key[:8]})",
        "language": "python",
        "env": {
            "VIRTUAL_ENV": str(final),
            "PATH": final_bin + os.pathsep + os.environ.get("PATH", ""),
            "PYTHONPATH": "",
            "PYTHONNOUSERSITE": "1",
        },
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    capture = (
        "import json,sys\nfrom nbtrack.capture.environment import capture_environment\n"
        "json.dump(capture_environment(), sys.stdout)"
    )
    env_json = _run([str(python), "-c", capture], "the new environment cannot import nbtrack")
    marker = {
        "kernel_name": kernel_name,
        "plan": {"python": plan.python, "requirements": plan.requirements},
        "environment": json.loads(env_json),
        "unmatched": [u.__dict__ for u in unmatched],
    }
    (tmp / MARKER).write_text(json.dumps(marker, indent=1))
    say("env", _event("kernel", 1, 1, f"kernel {kernel_name} registered"))
    return unmatched


def _has_pip() -> bool:
    import importlib.util

    return importlib.util.find_spec("pip") is not None


def _run(args: list[str], what: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise EnvironmentBuildError(f"{what or 'command failed'}: {' '.join(args[:4])} ...\n{tail}")
    return proc.stdout


_NOT_FOUND = re.compile(r"No matching distribution found for ([A-Za-z0-9._-]+)")


def _install(
    pip: list[str], requirements: list[str], keep: set[str], say: Notify
) -> list[Unmatched]:
    """pip-install ``requirements``. One the index does not have is dropped, reported and the
    rest retried. When the recorded versions conflict here (another Python, yanked releases),
    the dependencies' pins are loosened first, then those of ``keep`` (the cells' imports)."""
    unmatched: list[Unmatched] = []
    reqs = list(requirements)
    for _ in range(len(requirements) + 3):  # each retry drops or loosens something
        if not reqs:
            missing_all = ", ".join(f"{u.name} {u.recorded or ''}".strip() for u in unmatched)
            raise EnvironmentBuildError(
                f"none of the packages to install is on the package index: {missing_all}"
            )
        ok, tail = _pip_install(pip, reqs, say)
        if ok:
            return unmatched
        text = "\n".join(tail)
        missing = _NOT_FOUND.search(text)
        match = missing and next((r for r in reqs if _name(r) == normalise(missing.group(1))), None)
        if match:
            reqs.remove(match)
            dist, _, version = match.partition("==")
            reason = "not on the package index for this Python"
            unmatched.append(Unmatched(dist, version or None, reason))
            continue
        if "ResolutionImpossible" in text or "conflict" in text:
            pinned = [r for r in reqs if "==" in r and _name(r) not in keep] or [
                r for r in reqs if "==" in r
            ]
            if pinned:
                reqs = [r.partition("==")[0] if r in pinned else r for r in reqs]
                reason = "its recorded version conflicts with the others here: pip chose one"
                unmatched.extend(
                    Unmatched(r.partition("==")[0], r.partition("==")[2], reason) for r in pinned
                )
                continue
        raise EnvironmentBuildError("pip could not install the recorded packages:\n" + text)
    raise EnvironmentBuildError("pip kept failing on the recorded packages; giving up")


def _name(requirement: str) -> str:
    return normalise(re.split(r"[=<>!~ \[;]", requirement, maxsplit=1)[0])


def _pip_install(pip: list[str], reqs: list[str], say: Notify) -> tuple[bool, list[str]]:
    # --no-compile: byte-compiling every installed file was 40% of a build; the kernel compiles
    # what it imports on first use instead.
    args = [*pip, "install", "--no-input", "--no-compile", "--progress-bar", "off"]
    args.append("--disable-pip-version-check")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    total = len(reqs)
    done = 0
    say("env", _event("install", 0, total, f"installing {total} packages"))
    tail: deque[str] = deque(maxlen=40)
    proc = subprocess.Popen(
        [*args, *reqs], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        tail.append(line)
        what = _collected(line)
        if what:
            done += 1
            total = max(total, done)
            say("env", _event("install", done, total, f"installing {what}"))
        elif line.startswith("Installing collected packages:"):
            say("env", _event("install", done, total, f"unpacking {done} packages"))
    proc.wait()
    if proc.returncode == 0:
        say("env", _event("install", total, total, f"installed {total} packages"))
    return proc.returncode == 0, list(tail)


def _collected(line: str) -> str | None:
    """The requirement a line of pip's output says it is fetching: ``Collecting idna==3.6``, or
    ``Processing /path/idna-3.6-py3-none-any.whl`` for a wheel from a local index."""
    if line.startswith("Collecting "):
        return line[len("Collecting ") :].split(" (")[0].strip()
    if line.startswith("Processing ") and line.endswith(".whl"):
        name, _, rest = os.path.basename(line).partition("-")
        return f"{name}=={rest.partition('-')[0]}"
    return None
