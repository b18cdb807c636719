"""The hash scheme is recorded with the environment; a replay across schemes says so instead of
reporting every large container as diverged."""

from __future__ import annotations

from nbtrack.capture.canonical import HASH_SCHEME
from nbtrack.capture.environment import capture_environment, recorded_hash_scheme
from nbtrack.capture.hashing import hash_value
from nbtrack.reproduce.comparison import compare


def cell(state: dict[str, str], error: dict[str, str] | None = None) -> dict[str, object]:
    return {
        "status": "ok" if error is None else "error",
        "execution_count": 1,
        "source": "x = make()",
        "error": error,
        "state": state,
        "created": list(state),
        "changed": [],
        "deleted": [],
        "touched": ["x", "make"],
        "reads": [],
    }


def run(recorded, replayed, schemes):
    return compare("r", "p", recorded, replayed, {}, {}, [], {}, schemes)


def test_the_environment_records_the_hash_scheme():
    assert recorded_hash_scheme(capture_environment()) == HASH_SCHEME == 2
    assert recorded_hash_scheme({"python": {}}) == 1  # recorded before it was written down


def test_values_up_to_4096_items_hash_as_in_scheme_1():
    # digests computed by the scheme-1 hasher (main at 6425d1a)
    assert hash_value([1, 2, 3]) == "b65a809856dd198481bdfb37142fe740"
    assert hash_value({"a": 1, "b": [2.5, None]}) == "5a581b7588642146bddce0411ef9ca93"
    assert hash_value("héllo") == "fcce65a4002a6dc0546bd7aae2db5b64"
    assert hash_value({"x", "y"}) == "b9062170b00e32c961c41d4a91e564f3"
    assert hash_value(list(range(4096))) == "092340b039a184d67bc08101fcbf158e"
    assert hash_value({i: str(i) for i in range(4096)}) == "9ef50219b9418153ddc40773eaf851e3"


def test_different_hashes_across_schemes_are_not_divergences():
    old = [cell({"x": "a" * 32, "y": "c" * 32})]
    new = [cell({"x": "b" * 32, "y": "c" * 32})]
    report = run(old, new, (1, 2))
    assert report.reproduced and report.cells_matched == 1
    assert report.hash_scheme == {"recorded": 1, "replayed": 2, "uncompared": 1}
    assert any("hash scheme changed" in line for line in report.lines())
    same = run(old, new, (2, 2))
    assert not same.reproduced and same.divergences[0].variables["x"]["recorded"] == "a" * 32
    assert same.hash_scheme == {}


def test_outcomes_and_vanished_values_still_diverge_across_schemes():
    old = [cell({"x": "a" * 32})]
    assert not run(old, [cell({})], (1, 2)).reproduced
    failed = cell({"x": "b" * 32}, {"type": "ValueError", "message": "no"})
    assert not run(old, [failed], (1, 2)).reproduced


def test_values_past_the_hashing_budget_are_not_compared():
    old = [cell({"x": "a" * 32})]
    new = [cell({"x": "unhashable:budget-exceeded: past the hashing budget of 2 s per cell"})]
    assert run(old, new, (2, 2)).reproduced
