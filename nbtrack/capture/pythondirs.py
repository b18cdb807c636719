"""Where the running Python keeps its own files (prefixes, stdlib, site-packages): opening
files there is the interpreter at work, not a notebook reading data."""

from __future__ import annotations

import functools
import os
import site
import sys
import sysconfig


@functools.lru_cache(maxsize=1)
def python_dirs() -> tuple[str, ...]:
    """Absolute directories of this interpreter's installation, longest first."""
    found = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    try:
        found.update(site.getsitepackages())
    except AttributeError:  # old virtualenv's site.py has no getsitepackages
        pass
    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE is not False else None
    if isinstance(user_site, str):
        found.add(user_site)
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if value := sysconfig.get_paths().get(key):
            found.add(value)
    too_broad = {os.path.abspath(os.sep), os.path.expanduser("~")}
    dirs = {os.path.normpath(os.path.abspath(d)) for d in found if d}
    return tuple(sorted(dirs - too_broad, key=len, reverse=True))


def is_under(path: str, dirs: tuple[str, ...]) -> bool:
    """Whether absolute ``path`` is one of ``dirs`` or inside one of them."""
    for d in dirs:
        if path.startswith(d) and (
            len(path) == len(d) or path[len(d)] == os.sep or d.endswith(os.sep)
        ):
            return True
    return False
