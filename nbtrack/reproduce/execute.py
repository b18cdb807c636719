"""Executing cells in a fresh kernel (nbclient), for ``nbtrack run`` and ``nbtrack replay``."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from typing import Any

from nbtrack.errors import NbtrackError

CellCallback = Callable[[int, Any, dict[str, Any] | None], None]

# Set-up's first line when the kernel loads nbtrack while it starts (``extensions``): a no-op
# then, and ``%load_ext nbtrack`` (without its "already loaded" print) if that load failed.
LOAD_NBTRACK = "get_ipython().extension_manager.load_extension('nbtrack')"
# The end of a tear-down: the kernel's exit skips the module teardown (quick_exit; an older
# nbtrack in the kernel's environment exits as usual)
QUICK_EXIT = (
    "try:\n    from nbtrack.reproduce.quick_exit import exit_quickly as _nbtrack_\n"
    "    _nbtrack_()\nexcept ImportError:\n    pass"
)


class KernelError(NbtrackError):
    """The kernel could not be started, died, or set-up code failed in it."""


def execute_notebook(
    nb: Any,
    *,
    cwd: str,
    env: dict[str, str],
    setup: str,
    teardown: Callable[[bool], str],
    allow_errors: bool = False,
    kernel_name: str | None = None,
    on_cell: CellCallback | None = None,
    timeout: int | None = None,
    kernel_dirs: list[str] | None = None,
    on_ready: Callable[[], None] | None = None,
    extensions: tuple[str, ...] = (),
    exit_in_background: bool = False,
) -> bool:
    """Run ``setup`` silently, then every code cell of ``nb`` in order (outputs stored in
    ``nb``), then ``teardown(ok)`` silently. Cells are sent with their cell id, as JupyterLab
    does. Stops at the first failing cell unless ``allow_errors`` (cells tagged
    ``raises-exception`` may fail). Returns whether all cells succeeded. ``on_cell(index, cell, error)`` is called after each code cell.
    ``kernel_dirs``: private kernelspec directories searched for ``kernel_name`` (a recreated
    environment's kernel), instead of the user's. ``on_ready()`` is called once the kernel
    has run ``setup``, before the first cell: work the caller overlaps with the kernel's start.
    ``extensions``: IPython extensions the kernel loads while it starts, before it answers
    (``--IPKernelApp.extra_extensions``): what they start in a thread (nbtrack opens its store)
    runs while the kernel finishes starting; one that fails to load is loaded again by
    ``setup``, which then says why. ``exit_in_background``: once ``teardown`` has run, return
    while the kernel exits (gracefully, waited for in a thread: :func:`_leave`); the kernel's
    working directory must outlive it."""
    coro = _execute(
        nb,
        cwd,
        env,
        setup,
        teardown,
        allow_errors,
        kernel_name,
        on_cell,
        timeout,
        kernel_dirs,
        on_ready,
        extensions,
        exit_in_background,
    )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from a kernel (nbtrack.replay() in a notebook): its loop is busy, use a thread.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _execute(
    nb: Any,
    cwd: str,
    env: dict[str, str],
    setup: str,
    teardown: Callable[[bool], str],
    allow_errors: bool,
    kernel_name: str | None,
    on_cell: CellCallback | None,
    timeout: int | None,
    kernel_dirs: list[str] | None = None,
    on_ready: Callable[[], None] | None = None,
    extensions: tuple[str, ...] = (),
    exit_in_background: bool = False,
) -> bool:
    from nbtrack.reproduce.notebook_format import import_nbformat

    import_nbformat()  # before nbclient imports it the slow way
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError

    km = None
    if kernel_dirs:
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import AsyncKernelManager

        specs = KernelSpecManager(kernel_dirs=kernel_dirs, ensure_native_kernel=False)
        km = AsyncKernelManager(kernel_name=kernel_name or "", kernel_spec_manager=specs)
    client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        allow_errors=True,
        kernel_name=kernel_name or "",
        resources={"metadata": {"path": cwd}},
        extra_arguments=[
            "--IPKernelApp.log_level=ERROR",  # not the plain-TCP notice on every start
            *(f"--IPKernelApp.extra_extensions={name}" for name in extensions),
        ],
    )
    current: dict[str, Any] = {}

    async def remember(cell: Any, cell_index: int) -> None:
        current["id"] = cell.get("id")

    client.on_cell_execute = remember
    ok = True
    try:
        # cleanup_kc: shut the kernel down even when the manager is ours (kernel_dirs); an exit
        # left to a thread shuts it down below instead
        async with client.async_setup_kernel(
            cwd=cwd, env={**os.environ, **env}, cleanup_kc=not exit_in_background
        ):
            kc = client.kc
            assert kc is not None
            try:
                _send_cell_ids(kc, current)
                await _silent(kc, setup, "set-up")
                if on_ready is not None:
                    on_ready()
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    await client.async_execute_cell(cell, index)
                    error = _error_of(cell)
                    if on_cell is not None:
                        on_cell(index, cell, error)
                    if error is not None and "raises-exception" not in cell.metadata.get(
                        "tags", []
                    ):
                        ok = False
                        if not allow_errors:
                            break
                await _silent(kc, teardown(ok), "tear-down")
            except BaseException:
                # as nbclient does: a graceful exit, waited for (unless its signal handler did)
                if exit_in_background and client.km is not None:
                    await client._async_cleanup_kernel()
                raise
            if exit_in_background:
                try:
                    await _leave(client)
                except Exception:  # the exit could not be requested: shut down as nbclient does
                    if client.km is not None:
                        await client._async_cleanup_kernel()
    except DeadKernelError as exc:
        raise KernelError(f"the kernel died: {exc}") from None
    except CellExecutionError as exc:  # pragma: no cover - allow_errors=True above
        raise KernelError(str(exc)) from None
    return ok


async def _leave(client: Any) -> None:
    """Ask the kernel to exit, as nbclient's graceful shut-down does, and leave the wait for
    it (at most the manager's ``shutdown_wait_time``, then SIGTERM, then SIGKILL) and the
    clean-up of its connection files to a thread: the kernel's own exit work (the user's
    ``atexit`` functions; the module teardown too unless the tear-down ran ``QUICK_EXIT``) no
    longer delays the caller. The thread is not a daemon: a process that ends meanwhile waits
    for its kernel to be gone."""
    km, kc = client.km, client.kc
    kc.stop_channels()
    await km.request_shutdown()
    client.km = client.kc = None
    threading.Thread(
        target=_finish_exit, args=(km,), name="nbtrack-kernel-exit", daemon=False
    ).start()


def _finish_exit(km: Any) -> None:
    async def finish() -> None:
        try:
            await km.finish_shutdown(pollinterval=0.02)  # (0.1 s by default: 50 ms lost on average)
        finally:
            await km.cleanup_resources()

    try:
        asyncio.run(finish())
    except Exception as exc:  # the results are in: a kernel that will not go is one warning
        from nbtrack.errors import warn_failure

        warn_failure("could not shut the replay's kernel down", exc)


def _send_cell_ids(kc: Any, current: dict[str, Any]) -> None:
    """Make ``kc.execute`` carry ``metadata.cellId`` like JupyterLab, so cells keep their ids."""

    def execute(
        code: str,
        silent: bool = False,
        store_history: bool = True,
        user_expressions: Any = None,
        allow_stdin: bool | None = None,
        stop_on_error: bool = True,
    ) -> str:
        content = {
            "code": code,
            "silent": silent,
            "store_history": store_history,
            "user_expressions": user_expressions or {},
            "allow_stdin": False,
            "stop_on_error": stop_on_error,
        }
        msg = kc.session.msg("execute_request", content, metadata={"cellId": current.get("id")})
        kc.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    kc.execute = execute


async def _silent(kc: Any, code: str, what: str) -> None:
    if not code:
        return
    reply = await kc.execute_interactive(code, silent=True, store_history=False, timeout=120)
    content = reply["content"]
    if content.get("status") != "ok":
        raise KernelError(
            f"nbtrack {what} code failed in the kernel: {content.get('ename')}: {content.get('evalue')}"
        )


def _error_of(cell: Any) -> dict[str, Any] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return {"type": out.get("ename"), "message": out.get("evalue")}
    return None


def run_notebook(
    path: str,
    *,
    store_url: str,
    params: dict[str, str] | None = None,
    name: str | None = None,
    experiment: str | None = None,
    allow_errors: bool = False,
    kernel_name: str | None = None,
    output: str | None = None,
    on_cell: CellCallback | None = None,
) -> tuple[str, bool]:
    """Execute a notebook top to bottom in a fresh kernel as one tracked run.

    Params are logged and, papermill-style, assigned in a cell injected after the cell tagged
    ``parameters`` (or at the top). Returns ``(run_id, all_cells_succeeded)``."""
    import uuid

    from nbtrack.reproduce.notebook_format import import_nbformat

    nbformat = import_nbformat()

    from nbtrack.validation import check_label, check_param

    path = os.path.abspath(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise NbtrackError(f"no notebook at {path}") from None
    except Exception as exc:
        raise NbtrackError(f"{path} is not a readable notebook: {exc}") from None
    params = dict(params or {})
    for key, value in params.items():
        if not key.isidentifier():
            raise NbtrackError(f"parameter name {key!r} is not a Python identifier")
        check_param(key, value)
    if params:
        _inject_parameters(nb, params)
    run_id = uuid.uuid4().hex
    experiment = check_label(
        "experiment name", experiment or os.path.splitext(os.path.basename(path))[0]
    )
    stem = os.path.splitext(os.path.basename(path))[0]
    kwargs = {
        "name": check_label("run name", name or stem),
        "experiment": experiment,
        "params": params,
        "run_id": run_id,
    }
    setup = f"{LOAD_NBTRACK}\nimport nbtrack as _nbtrack_\n_nbtrack_.start_run(**{kwargs!r})\ndel _nbtrack_"
    env = {"NBTRACK_STORE": store_url, "JPY_SESSION_NAME": path}
    ok = execute_notebook(
        nb,
        cwd=os.path.dirname(path),
        env=env,
        setup=setup,
        teardown=lambda ok: (
            f"import nbtrack as _nbtrack_\n_nbtrack_.end_run({'finished' if ok else 'failed'!r})\n"
            f"{QUICK_EXIT}\ndel _nbtrack_"
        ),
        allow_errors=allow_errors,
        kernel_name=kernel_name,
        on_cell=on_cell,
        extensions=("nbtrack",),
    )
    if output:
        nbformat.write(nb, output)
    return run_id, ok


def _inject_parameters(nb: Any, params: dict[str, str]) -> None:
    import ast

    from nbtrack.reproduce.notebook_format import import_nbformat

    nbformat = import_nbformat()

    lines = ["# Parameters injected by nbtrack run"]
    for key, value in params.items():
        try:
            literal = repr(ast.literal_eval(value))
        except (ValueError, SyntaxError):
            literal = repr(value)
        lines.append(f"{key} = {literal}")
    cell = nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": ["injected-parameters"]})
    at = next(
        (
            i + 1
            for i, c in enumerate(nb.cells)
            if "parameters" in c.get("metadata", {}).get("tags", [])
        ),
        0,
    )
    nb.cells.insert(at, cell)
