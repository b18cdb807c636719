"""System load while a run is active, as ``system/...`` metrics: CPU, memory, NVIDIA GPUs."""

from __future__ import annotations

import os
import threading
from typing import Any

MIB = 2**20

_lock = threading.Lock()
_state: dict[str, Any] = {}  # "primed": cpu_percent has a reference point; "nvml": module or None


def sample_system() -> dict[str, float]:
    """One sample, without sleeping: CPU use since the previous call (since boot on the first),
    memory in use (total minus available), and per-GPU utilisation and memory when NVML works.

    With several GPUs the GPU keys end in ``/<index>``, e.g. ``system/gpu_utilization_percent/1``.
    """
    import psutil

    with _lock:
        if not _state.get("primed"):
            cpu = _cpu_since_boot(psutil)
            psutil.cpu_percent(interval=None)
            _state["primed"] = True
        else:
            cpu = float(psutil.cpu_percent(interval=None))
    vm = psutil.virtual_memory()
    sample = {
        "system/cpu_percent": cpu,
        "system/memory_percent": float(vm.percent),
        "system/memory_used_mb": (vm.total - vm.available) / MIB,
    }
    sample.update(_gpu_sample())
    return sample


def process_start_time() -> float | None:
    """When this process started, in seconds since the epoch, as ``psutil.Process().create_time()``
    gives it: on Linux from /proc (boot time plus the start tick), without importing psutil
    (50-80 ms); elsewhere psutil's; None if neither works."""
    try:
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        # after the command name, which may hold spaces and parentheses: field 22 is starttime
        ticks = int(stat[stat.rindex(b")") + 2 :].split()[19])
        with open("/proc/stat", "rb") as f:
            boot = next(int(ln.split()[1]) for ln in f if ln.startswith(b"btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration, AttributeError):
        pass
    try:
        import psutil

        return float(psutil.Process().create_time())
    except Exception:
        return None


def _cpu_since_boot(psutil: Any) -> float:
    times = psutil.cpu_times()
    total = sum(times)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return 100.0 * (1.0 - idle / total) if total > 0 else 0.0


def _nvml() -> Any:
    """The initialised pynvml module, or None when it is missing or finds no driver (tried once)."""
    if "nvml" not in _state:
        try:
            import pynvml  # type: ignore[import-not-found]

            pynvml.nvmlInit()
            _state["nvml"] = pynvml
        except Exception:
            _state["nvml"] = None
    return _state["nvml"]


def _gpu_sample() -> dict[str, float]:
    nvml = _nvml()
    if nvml is None:
        return {}
    out: dict[str, float] = {}
    try:
        count = nvml.nvmlDeviceGetCount()
        for i in range(count):
            handle = nvml.nvmlDeviceGetHandleByIndex(i)
            suffix = f"/{i}" if count > 1 else ""
            util = nvml.nvmlDeviceGetUtilizationRates(handle).gpu
            used = nvml.nvmlDeviceGetMemoryInfo(handle).used
            out[f"system/gpu_utilization_percent{suffix}"] = float(util)
            out[f"system/gpu_memory_used_mb{suffix}"] = used / MIB
    except Exception:  # a GPU that vanished or a driver error: no GPU figures this time
        return {}
    return out
