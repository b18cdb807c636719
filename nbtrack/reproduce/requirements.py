"""What to install to recreate a run's environment: the distributions its cells import and
their dependencies, at their recorded versions, plus what a kernel with nbtrack needs; and what
cannot be matched (another Python, local packages), said plainly instead of installed blindly."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from nbtrack.reproduce.imports import imported_distributions, normalise
from nbtrack.version import __version__

# The package directory of this nbtrack, linked into recreated environments.
NBTRACK_SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What the replay kernel needs besides the user's packages: ipykernel and the libraries
# nbtrack's recorder imports (the views' pandas, altair and widgets are not needed there).
KERNEL_DISTRIBUTIONS = (
    "ipykernel",
    "sqlalchemy",
    "xxhash",
    "orjson",
    "pathspec",
    "fsspec",
    "psutil",
)
# nbtrack's API beyond recording (search_runs, widgets, load_model ...) needs all its dependencies.
_NBTRACK_BEYOND_RECORDING = re.compile(
    r"\bnbtrack\.(?!start_run|end_run|active_run|log_|set_tag|autolog)\w+"
    r"|\bfrom\s+nbtrack\S*\s+import\b"
)


@dataclass
class Unmatched:
    """A recorded part of the environment that the new one does not reproduce, and why."""

    name: str
    recorded: str | None
    reason: str


@dataclass
class EnvironmentPlan:
    """The requirements (``name==version`` or a bare name pip chooses) for a recreated
    environment, what was left out and why, and the cache key of the result."""

    python: str
    requirements: list[str]
    imported: dict[str, str]  # normalised distribution -> the module the cells import
    unmatched: list[Unmatched] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # recorded, not needed by the run's cells
    nbtrack_source: str = ""

    @property
    def key(self) -> str:
        """Content hash of (python, requirements, nbtrack source): equal plans share one env."""
        text = json.dumps(
            [self.python, platform.machine(), sorted(self.requirements), self.nbtrack_source]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:20]


def plan_environment(
    recorded: dict[str, Any], sources: list[str], imported: dict[str, str] | None = None
) -> EnvironmentPlan:
    """The plan to recreate ``recorded`` (an environment from :mod:`nbtrack.capture.environment`)
    for cells with ``sources``, on this machine's Python. ``imported``: the cells' distributions
    when already known (:func:`~.imports.imported_distributions`)."""
    packages = {normalise(n): (n, v) for n, v in (recorded.get("packages") or {}).items()}
    current = platform.python_version()
    plan = EnvironmentPlan(
        python=current,
        requirements=[],
        imported=imported
        if imported is not None
        else imported_distributions(sources, {n: v for n, v in packages.values()}),
        nbtrack_source=NBTRACK_SOURCE,
    )
    rec_py = (recorded.get("python") or {}).get("version")
    if rec_py and rec_py != current:
        plan.unmatched.append(
            Unmatched(
                "python",
                rec_py,
                f"Python {rec_py} is not installed here: the environment uses the current "
                f"python3, {current}",
            )
        )
    user = _closure([*plan.imported, "ipykernel"])
    pins: dict[str, str] = {}
    for key in sorted(user):
        if key == "nbtrack":
            continue
        if key in packages:
            name, version = packages[key]
            local = _local_origin(key)
            if local:
                plan.unmatched.append(
                    Unmatched(name, version, f"a local package ({local}), not on the package index")
                )
                continue
            pins[key] = f"{name}=={version}"
        elif key in plan.imported or key == "ipykernel":
            pins[key] = key
    for dist in _closure(_nbtrack_needs(sources)) - user:
        # nbtrack's own needs: the versions the current nbtrack source runs with
        version = _installed_version(dist)
        pins[dist] = f"{dist}=={version}" if version else dist
    # Always said: the recorder and the comparison are this nbtrack, whatever recorded the run.
    plan.unmatched.append(
        Unmatched(
            "nbtrack",
            packages.get("nbtrack", (None, None))[1],
            f"the current nbtrack ({__version__}, {plan.nbtrack_source}) is used",
        )
    )
    plan.requirements = sorted(pins.values(), key=str.lower)
    plan.skipped = sorted(name for key, (name, _) in packages.items() if key not in pins)
    return plan


def _nbtrack_needs(sources: list[str]) -> list[str]:
    """What the kernel needs for nbtrack: the recorder's few libraries, or all of nbtrack's
    dependencies when the cells call its API beyond recording (``nbtrack.search_runs`` ...)."""
    if not any(_NBTRACK_BEYOND_RECORDING.search(src) for src in sources):
        return list(KERNEL_DISTRIBUTIONS)
    try:
        requires = metadata.requires("nbtrack") or []
    except metadata.PackageNotFoundError:
        return list(KERNEL_DISTRIBUTIONS)
    return [*KERNEL_DISTRIBUTIONS, *filter(None, map(_required_name, requires))]


def _closure(roots: Any) -> set[str]:
    """The normalised names of ``roots`` and everything they require (without extras),
    following this interpreter's installed metadata."""
    seen: set[str] = set()
    todo = [normalise(r) for r in roots]
    while todo:
        key = todo.pop()
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(key) or []
        except metadata.PackageNotFoundError:
            continue
        todo.extend(dep for dep in map(_required_name, requires) if dep)
    return seen


def _required_name(spec: str) -> str | None:
    """The normalised name a requirement string needs here, None when only an extra or
    another platform wants it."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        if "extra" in spec.partition(";")[2]:
            return None
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
        return normalise(match.group(1)) if match else None
    try:
        req = Requirement(spec)
    except Exception:
        return None
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        return None
    return normalise(req.name)


def _installed_version(key: str) -> str | None:
    try:
        return metadata.version(key)
    except metadata.PackageNotFoundError:
        return None


def _local_origin(key: str) -> str | None:
    """Where a distribution installed here came from when that is a local path, not an index."""
    try:
        text = metadata.distribution(key).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        return None
    url = str(info.get("url", ""))
    if info.get("dir_info", {}).get("editable"):
        return f"editable install of {url}"
    if url.startswith("file:"):
        return f"installed from {url}"
    return None
