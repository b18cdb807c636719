"""A replay's verdict: how many cells reproduced, where and why the others diverged, and what
changed since recording; as JSON, as text lines and as HTML in a notebook."""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Divergence:
    """A cell whose state or outcome differed on replay: the variables that differ (their
    recorded and replayed hashes), the outcomes if they differ, and its likely causes."""

    index: int
    execution_count: int | None
    source: str
    variables: dict[str, dict[str, str | None]]
    error: dict[str, Any] | None = None  # {"recorded": ..., "replayed": ...} when outcomes differ
    causes: list[str] = field(default_factory=list)

    @property
    def first_line(self) -> str:
        return next((ln for ln in self.source.splitlines() if ln.strip()), "")


@dataclass
class ReplayReport:
    """The verdict of one replay; ``lines()`` is the text that the CLI, repr and HTML show."""

    run_id: str
    replay_run_id: str | None
    reproduced: bool
    cells_total: int
    cells_matched: int
    divergences: list[Divergence]
    environment_diff: dict[str, Any]
    changed_inputs: dict[str, str]
    changed_code: list[tuple[str, str]]
    unverified: int = 0  # cells run before nbtrack was loaded: no recorded state to compare
    # {"mode": "recorded"|"current", "cached", "python", "installed", "unmatched",
    #  "imported": {dist: version in the replay}, and "skipped", "path" when recorded}
    environment: dict[str, Any] = field(default_factory=dict)
    # {"recorded": n, "replayed": m, "uncompared": k}: the state hashes of the two runs come from
    # different hash schemes, so k differing values were neither matched nor counted as diverged
    hash_scheme: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for d in data["divergences"]:
            d.pop("first_line", None)
        return data

    def lines(self) -> list[str]:
        out = [f"reproduced {self.cells_matched}/{self.cells_total} cells"]
        if self.unverified:
            out.append(
                f"  ({self.unverified} cells ran before nbtrack was loaded; their state was not recorded)"
            )
        scheme = self.hash_scheme
        if scheme and scheme.get("recorded") != scheme.get("replayed"):
            out.append(
                f"  hash scheme changed (recorded with scheme {scheme.get('recorded')}, replayed with "
                f"{scheme.get('replayed')}): {scheme.get('uncompared', 0)} differing values not compared"
            )
        out += self.environment_lines()
        for i, d in enumerate(self.divergences):
            head = "first divergence" if i == 0 else "then"
            out.append(f"{head} at cell {d.index} [{d.execution_count}]: {d.first_line[:80]}")
            if d.error:
                out.append(
                    f"    outcome: recorded {_outcome(d.error['recorded'])}, replayed {_outcome(d.error['replayed'])}"
                )
            for name, hashes in sorted(d.variables.items()):
                rec, rep = hashes["recorded"], hashes["replayed"]
                what = "appeared" if rec is None else "vanished" if rep is None else "differs"
                out.append(f"    {name}: {what}")
            for cause in d.causes:
                out.append(f"    likely cause: {cause}")
        return out

    def environment_lines(self) -> list[str]:
        """Where the replay ran: the recreated environment (the versions of the packages the
        cells import, what could not be matched) or, for the current one, nothing."""
        env = self.environment
        if env.get("mode") != "recorded":
            return []
        versions = ", ".join(f"{n} {v or 'absent'}" for n, v in env.get("imported", {}).items())
        head = f"environment: recorded, Python {env.get('python')}"
        head += " (cached)" if env.get("cached") else " (built now)"
        if versions:
            head += f"; the run's packages at their recorded versions: {versions}"
        out = [head]
        by_reason: dict[str, list[str]] = {}
        for u in env.get("unmatched", []):
            was = f" {u['recorded']}" if u.get("recorded") else ""
            by_reason.setdefault(u["reason"], []).append(f"{u['name']}{was}")
        for reason, names in by_reason.items():
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            out.append(f"  not matched: {shown}: {reason}")
        skipped = len(env.get("skipped", []))
        if skipped:
            out.append(
                f"  {skipped} recorded packages not imported by the run's cells were not installed"
            )
        return out

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.reproduced else "#cf222e"
        body = "<br>".join(html.escape(line).replace("  ", "&nbsp;&nbsp;") for line in self.lines())
        return f'<div style="font-family:monospace;border-left:4px solid {colour};padding-left:8px">{body}</div>'


def _outcome(err: dict[str, Any] | None) -> str:
    return "ok" if err is None else f"{err.get('type')}: {err.get('message')}"
