"""Recorded and replayed cells side by side: which cells reproduced their state and outcome, and
which diverged first (a difference only carried along from an earlier cell is not new)."""

from __future__ import annotations

from typing import Any

from nbtrack.capture.hashing import BUDGET_EXCEEDED
from nbtrack.reproduce.diagnose import likely_causes
from nbtrack.reproduce.report import Divergence, ReplayReport


def compare(
    run_id: str,
    replay_id: str | None,
    recorded: list[dict[str, Any]],
    replayed: list[dict[str, Any]],
    env_diff: dict[str, Any],
    changed_inputs: dict[str, str],
    changed_code: list[tuple[str, str]],
    packages: dict[str, tuple[str | None, str | None]],
    schemes: tuple[int, int] = (0, 0),
) -> ReplayReport:
    """Cell-by-cell comparison of recorded and replayed sequences (same order, same sources).

    ``schemes`` are the hash schemes the two runs recorded with: when they differ, two different
    hashes of a value prove nothing and are counted apart, never as a divergence; values past
    the hashing budget (``unhashable:budget-exceeded``) are never compared either."""
    divergences: list[Divergence] = []
    uncompared = 0
    matched = unverified = 0
    diverged_names: set[str] = set()
    for i, rec in enumerate(recorded):
        rep = replayed[i] if i < len(replayed) else None
        if rec["status"] == "history":
            unverified += 1
            matched += 1
            continue
        if rep is None:
            divergences.append(
                Divergence(
                    i,
                    rec["execution_count"],
                    rec["source"],
                    {},
                    {
                        "recorded": rec["error"],
                        "replayed": {
                            "type": "NotExecuted",
                            "message": "the replay stopped before this cell",
                        },
                    },
                )
            )
            continue
        written = {
            n for c in (rec, rep) for key in ("created", "changed", "deleted") for n in c[key]
        }
        variables = {
            name: {"recorded": rec["state"].get(name), "replayed": rep["state"].get(name)}
            for name in sorted(set(rec["state"]) | set(rep["state"]))
            if rec["state"].get(name) != rep["state"].get(name)
            and (
                name in written or name not in diverged_names
            )  # earlier differences carried along are not new
        }
        for name, pair in list(variables.items()):
            if not _comparable(pair["recorded"], pair["replayed"], schemes):
                del variables[name]
                uncompared += 1
        same_outcome = (rec["error"] or None) == (rep["error"] or None)
        if not variables and same_outcome:
            matched += 1
            continue
        error = None if same_outcome else {"recorded": rec["error"], "replayed": rep["error"]}
        new_names = set(variables) - diverged_names
        d = Divergence(i, rec["execution_count"], rec["source"], variables, error)
        d.causes = likely_causes(recorded, i, changed_inputs, packages, diverged_names)
        diverged_names |= new_names
        if new_names or error:
            divergences.append(d)
        else:  # only carries earlier differences forward: not a new divergence
            matched += 1
    return ReplayReport(
        run_id=run_id,
        replay_run_id=replay_id,
        reproduced=not divergences,
        cells_total=len(recorded),
        cells_matched=matched,
        divergences=divergences,
        environment_diff=env_diff,
        changed_inputs=changed_inputs,
        changed_code=changed_code,
        unverified=unverified,
        hash_scheme={"recorded": schemes[0], "replayed": schemes[1], "uncompared": uncompared}
        if schemes[0] != schemes[1]
        else {},
    )


def _comparable(recorded: str | None, replayed: str | None, schemes: tuple[int, int]) -> bool:
    """Whether two different state hashes of one name mean the value differs."""
    if recorded is None or replayed is None:
        return True  # appeared or vanished
    if any(h.startswith(BUDGET_EXCEEDED) for h in (recorded, replayed)):
        return False
    return schemes[0] == schemes[1]
