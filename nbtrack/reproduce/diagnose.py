"""Why a replayed cell may have diverged: likely causes read from its source and the record."""

from __future__ import annotations

import re
from typing import Any

# (what draws random numbers, what seeds that generator); a draw with no seed before it is unseeded.
_GENERATORS = [
    (
        re.compile(
            r"\bnp\.random\.(?!seed\b|default_rng\b|Generator\b|RandomState\(\s*\d|PCG64\b|SeedSequence\b)\w+\("
        ),
        re.compile(r"\bnp\.random\.seed\(\s*[^)\s]"),
    ),
    (
        re.compile(
            r"(?<![\w.])random\.(random|randint|choice|choices|shuffle|sample|uniform|gauss|randrange)\("
        ),
        re.compile(r"(?<![\w.])random\.seed\(\s*[^)\s]"),
    ),
    (
        re.compile(r"\btorch\.(rand|randn|randint|randperm|normal)\("),
        re.compile(r"\btorch\.manual_seed\("),
    ),
    (
        re.compile(
            r"\b(default_rng|RandomState)\(\s*\)|\buuid\.uuid4\(|\bos\.urandom\(|\bsecrets\.\w+\("
        ),
        None,
    ),
]
_CLOCK = re.compile(
    r"\b(time\.(time|time_ns|perf_counter|monotonic|localtime|gmtime|ctime)\b|datetime\.(now|today|utcnow)\b"
    r"|date\.today\b|Timestamp\.(now|today)\b|uuid\.uuid1\b)"
)
_NETWORK = re.compile(
    r"\b(requests|httpx|aiohttp)\.(get|post|put|patch|delete|head|request|Session|Client|AsyncClient|ClientSession)\b"
    r"|\burllib\.request\b|\burlopen\(|\bsocket\.(socket|create_connection|gethostbyname)\b"
    r"|\b(?:from|import)\s+(requests|httpx|aiohttp|urllib\.request|urllib3|socket)\b"
    r"|[\'\"](https?|ftp|s3|gs)://"
)
# Reading nbtrack's own store: what it holds changes with every run, including the replay.
_STORE_READS = "|".join(
    [
        "search_runs",
        "get_run",
        "get_metric_history",
        "runs_table",
        "compare_runs",
        "list_experiments",
        "open_store",
        r"load_\w+",
    ]
)
_TRACKING_STORE = re.compile(
    rf"\b(nbtrack|mlflow)\.({_STORE_READS})\(|(?<![\w.])({_STORE_READS})\("
    r"|\bNBTRACK_STORE\b|[\'\"/]\.nbtrack\b|\bmlruns\b"
)
_HASH_SEED = re.compile(
    r"(?<![\w.])hash\(|\bfor\s+\w+\s+in\s+(set\(|\{)|\blist\(\s*set\(|\bset\([^)]*\)\s*\)\s*\["
)
_IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_][\w]*)", re.M)


def likely_causes(
    cells: list[dict[str, Any]],
    index: int,
    changed_inputs: dict[str, str],
    changed_packages: dict[str, tuple[str | None, str | None]],
    diverged_names: set[str],
) -> list[str]:
    """Causes for the divergence at ``cells[index]``, most specific first.

    ``changed_inputs`` maps a file path the cell read to how it changed; ``changed_packages``
    maps distribution names to (recorded, now) versions; ``diverged_names`` are variables that
    already differed before this cell."""
    cell = cells[index]
    source = cell["source"]
    causes = []
    for path in cell.get("reads", []):
        if path in changed_inputs:
            causes.append(f"reads {path}, whose content {changed_inputs[path]} since recording")
    before = "\n".join(c["source"] for c in cells[: index + 1])
    if any(
        draw.search(source) and (seed is None or not seed.search(before))
        for draw, seed in _GENERATORS
    ):
        causes.append("calls an unseeded random generator")
    if _reads_store(source):
        causes.append("reads the tracking store (its runs change, the replay among them)")
    if _CLOCK.search(source) or _NETWORK.search(source):
        causes.append("reads the network or the clock")
    if _HASH_SEED.search(source):
        causes.append("depends on the hash seed (string hashing or set order; PYTHONHASHSEED)")
    used = set(_IMPORT.findall(source)) | {
        m.split(".")[0] for m in re.findall(r"\b([a-z_]\w*)\.", source)
    }
    for name, (old, new) in changed_packages.items():
        module = name.replace("-", "_").lower()
        if module in used or (module == "scikit_learn" and "sklearn" in used):
            causes.append(
                f"uses {name}, which changed version: {old or 'absent'} -> {new or 'absent'}"
            )
    touched = cell.get("touched")
    inherited = (
        sorted(diverged_names & set(touched)) if touched is not None else sorted(diverged_names)
    )
    if inherited and not causes:
        causes.append("uses variables that had already diverged: " + ", ".join(inherited[:5]))
    return causes


def _reads_store(source: str) -> bool:
    """Whether the code reads nbtrack's (or MLflow's) tracking store; a bare ``load_...(`` or
    ``get_run(`` counts only when the cell imports it from nbtrack."""
    for match in _TRACKING_STORE.finditer(source):
        bare = match.group(3)
        if bare is None or re.search(
            rf"from\s+(nbtrack|mlflow)\S*\s+import\s[^\n]*\b{bare}\b", source
        ):
            return True
    return False
