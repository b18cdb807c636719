"""The hash scheme is recorded with the environment; a replay across schemes says so instead of
reporting every large container as diverged."""

from __future__ import annotations

import pytest

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
    assert recorded_hash_scheme(capture_environment()) == HASH_SCHEME == 3
    assert recorded_hash_scheme({"python": {}}) == 1  # recorded before it was written down


def test_values_up_to_4096_items_hash_as_in_scheme_1():
    # digests computed by the scheme-1 hasher (main at 6425d1a)
    assert hash_value([1, 2, 3]) == "b65a809856dd198481bdfb37142fe740"
    assert hash_value({"a": 1, "b": [2.5, None]}) == "5a581b7588642146bddce0411ef9ca93"
    assert hash_value("héllo") == "fcce65a4002a6dc0546bd7aae2db5b64"
    assert hash_value({"x", "y"}) == "b9062170b00e32c961c41d4a91e564f3"
    assert hash_value(list(range(4096))) == "092340b039a184d67bc08101fcbf158e"
    assert hash_value({i: str(i) for i in range(4096)}) == "9ef50219b9418153ddc40773eaf851e3"


def test_numpy_and_pandas_values_hash_as_in_schemes_2_and_3():
    # digests computed before the dtype, short-string and numpy-scalar fast paths (main at 3b50897)
    np = pytest.importorskip("numpy")
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    assert hash_value(np.float64(1.5)) == "7902e50b8fa243b46451b8b2b42a5a16"
    assert hash_value(np.int64(3)) == "e4b832df825e4859cbd8eb80fe3f365c"
    assert hash_value(np.dtype("<f8")) == "6ee1b450568f8121bfe3868e1f81fb1e"
    assert hash_value(np.arange(6.0).reshape(2, 3)) == "62c8bbfd0b24b83c3ea9a724520d2ebc"
    frame = pd.DataFrame(
        {
            "x": [1.0, 2.0],
            "s": pd.Series(["a", "bé"], dtype="str"),
            "c": pd.Categorical(["u", "v"]),
        }
    )
    assert hash_value(frame) == "457c50e57735eb09c97157b522887c87"
    strings = pd.Series(pd.array(["a", "bb"], dtype=pd.ArrowDtype(pa.string())))
    assert hash_value(strings) == "9af552f3a259c1b635a8e80e8e2e6cd9"
    # one more time: now from the remembered tokens of the dtype and the short strings
    assert hash_value(frame) == "457c50e57735eb09c97157b522887c87"


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
