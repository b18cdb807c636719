"""A quick exit for the kernels nbtrack starts itself (a replay's, ``nbtrack run``'s).

Such a kernel's exit still does what an exit does for the user: the ``atexit`` functions run in
their usual order (IPython's clears the user's namespace and collects, so the user's objects are
finalised; nbtrack's closes the store), then every file still open is flushed, wherever it is
held. Only the interpreter's module teardown is skipped, and with it the finalisers of objects
that only a module still held: 0.3-0.5 s once pandas or statsmodels is imported, which the user
waits for (``nbtrack replay`` returns once its kernel is gone). Never used in a kernel the user
started.
"""

from __future__ import annotations

import _io
import atexit
import gc
import os
import sys

_registered_at = -1  # atexit's count of functions once ours was registered
_exiting = False


def exit_quickly() -> None:
    """Make this interpreter's exit skip the module teardown. Call it last: a function
    registered with ``atexit`` after it makes the exit the usual one again."""
    global _registered_at
    if hasattr(atexit, "_run_exitfuncs") and hasattr(atexit, "_ncallbacks"):
        atexit.register(_exit)
        _registered_at = atexit._ncallbacks()


def _exit() -> None:
    """Run at exit, first (registered last): the other ``atexit`` functions, then end."""
    global _exiting
    if _exiting or atexit._ncallbacks() != _registered_at:
        # a second call (from the run below), or a function registered after this one already
        # ran (so running the others here would run it twice): the usual exit goes on
        return
    _exiting = True
    try:
        atexit._run_exitfuncs()  # the others, in their usual order; this one returns at once
        streams = [sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__]
        streams += [f for f in gc.get_objects() if isinstance(f, _io._IOBase)]  # files anywhere
        for stream in streams:
            try:
                if stream is not None and not stream.closed:
                    stream.flush()
            except Exception:  # noqa: S112 - nothing it could still write
                continue
    finally:
        os._exit(0)
