"""Build nbtrack's two front ends with npm; called by the hatch build hook and by scripts/setup.sh.

The JupyterLab sidebar (labextension/ -> nbtrack/labextension) and the notebook widgets' ES modules
(widgets-js/ -> nbtrack/widgets/static/*.js) are each built only when an output is missing or older
than its sources. So an editable install rebuilds changed TypeScript, a source tree with fresh
builds needs no Node, and an sdist (which ships the built files: skip-if-exists in pyproject.toml)
never runs this. ``python scripts/frontends.py --stale`` exits 0 when a build, and so npm, is needed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FRONT_ENDS = {
    # npm package folder: (what it is built from, what the build writes)
    "labextension": (
        [
            "labextension/src",
            "labextension/style",
            "labextension/schema",
            "labextension/package.json",
        ],
        ["nbtrack/labextension/package.json", "nbtrack/labextension/static/style.js"],
    ),
    "widgets-js": (
        ["widgets-js/src", "widgets-js/build.mjs", "widgets-js/package.json"],
        ["nbtrack/widgets/static/table.js", "nbtrack/widgets/static/views.js"],
    ),
}


def _mtimes(path: Path) -> list[float]:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return [p.stat().st_mtime for p in files]


def stale(folder: str) -> bool:
    """Whether a front end's outputs are missing or older than any of its sources."""
    sources, outputs = FRONT_ENDS[folder]
    if not all((ROOT / out).exists() for out in outputs):
        return True
    built = min(t for out in outputs for t in _mtimes(ROOT / out))
    return any(t > built for src in sources for t in _mtimes(ROOT / src))


def build(target_name: str, version: str) -> None:
    """hatch-jupyter-builder's build function: ``npm install`` and ``npm run build:prod``."""
    from hatch_jupyter_builder import npm_builder

    for folder in FRONT_ENDS:
        if stale(folder):
            npm_builder(
                target_name,
                version,
                path=str(ROOT / folder),
                build_cmd="build:prod",
                npm=["npm"],
                force=True,
            )


if __name__ == "__main__" and sys.argv[1:] == ["--stale"]:
    sys.exit(0 if any(stale(folder) for folder in FRONT_ENDS) else 1)
