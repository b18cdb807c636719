"""Executing cells in a fresh kernel (nbclient), for ``nbtrack run`` and ``nbtrack replay``."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

from nbtrack.errors import NbtrackError

CellCallback = Callable[[int, Any, dict[str, Any] | None], None]


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
) -> bool:
    """Run ``setup`` silently, then every code cell of ``nb`` in order (outputs stored in
    ``nb``), then ``teardown(ok)`` silently. Cells are sent with their cell id, as JupyterLab
    does. Stops at the first failing cell unless ``allow_errors`` (cells tagged
    ``raises-exception`` may fail). Returns whether all cells succeeded. ``on_cell(index, cell, error)`` is called after each code cell.
    ``kernel_dirs``: private kernelspec directories searched for ``kernel_name`` (a recreated
    environment's kernel), instead of the user's. ``on_ready()`` is called once the kernel
    has run ``setup``, before the first cell: work the caller overlaps with the kernel's start."""
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
            "--IPKernelApp.log_level=ERROR"
        ],  # not the plain-TCP notice on every start
    )
    current: dict[str, Any] = {}

    async def remember(cell: Any, cell_index: int) -> None:
        current["id"] = cell.get("id")

    client.on_cell_execute = remember
    ok = True
    try:
        # cleanup_kc: shut the kernel down even when the manager is ours (kernel_dirs)
        async with client.async_setup_kernel(cwd=cwd, env={**os.environ, **env}, cleanup_kc=True):
            kc = client.kc
            assert kc is not None
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
                if error is not None and "raises-exception" not in cell.metadata.get("tags", []):
                    ok = False
                    if not allow_errors:
                        break
            await _silent(kc, teardown(ok), "tear-down")
    except DeadKernelError as exc:
        raise KernelError(f"the kernel died: {exc}") from None
    except CellExecutionError as exc:  # pragma: no cover - allow_errors=True above
        raise KernelError(str(exc)) from None
    return ok


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
    setup = f"%load_ext nbtrack\nimport nbtrack as _nbtrack_\n_nbtrack_.start_run(**{kwargs!r})\ndel _nbtrack_"
    env = {"NBTRACK_STORE": store_url, "JPY_SESSION_NAME": path}
    ok = execute_notebook(
        nb,
        cwd=os.path.dirname(path),
        env=env,
        setup=setup,
        teardown=lambda ok: (
            f"import nbtrack as _nbtrack_\n_nbtrack_.end_run({'finished' if ok else 'failed'!r})\ndel _nbtrack_"
        ),
        allow_errors=allow_errors,
        kernel_name=kernel_name,
        on_cell=on_cell,
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
