"""Untouched variables holding numpy/pandas data keep their hash unless the cell may have written
their memory: through a view, an alias, a buffer they share, or an object the cell cannot walk."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

from nbtrack.capture.hashing import StateHasher, hash_value, names_touched


def cell(ns: dict[str, object], hasher: StateHasher, code: str) -> dict[str, str]:
    code = textwrap.dedent(code)
    exec(code, ns)
    return hasher.hash_namespace(ns, names_touched(code))


def start(setup: str) -> tuple[dict[str, object], StateHasher]:
    ns: dict[str, object] = {"__name__": "__main__", "np": np, "pd": pd}
    exec(textwrap.dedent(setup), ns)
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    return ns, hasher


def assert_true_hashes(ns: dict[str, object], out: dict[str, str]) -> None:
    """Every recorded hash is the hash of the variable as it is now."""
    for name, h in out.items():
        assert h == hash_value(ns[name]), name


class Model:
    def __init__(self, exog: np.ndarray) -> None:
        self.exog = exog
        self.info = {"n": len(exog)}


class Results:
    def __init__(self, model: Model) -> None:
        self.model = model
        self.params = model.exog.sum(axis=0)
        self.frame = pd.DataFrame({"p": self.params, "name": [f"x{i}" for i in range(2)]})


def test_untouched_data_variables_are_not_walked_again():
    ns, hasher = start(
        """
        X = np.arange(20.0).reshape(10, 2)
        df = pd.DataFrame({"a": np.arange(5), "s": list("abcde")})
        s = df["a"]
        x = 1
        """
    )
    ns["res"] = Results(Model(np.ones((4, 2))))
    hasher.hash_namespace(ns, {"res"})
    out = cell(ns, hasher, "x = 2")
    assert hasher.hashed_names == ["x"] and hasher.stats["large_hashed"] == 0
    out = cell(ns, hasher, "y = x + 1\nprint(y)")
    assert sorted(hasher.hashed_names) == ["x", "y"]
    assert_true_hashes(ns, out)


def test_writes_through_views_reach_the_untouched_base_and_siblings():
    ns, hasher = start("a = np.zeros(100)\nv = a[:10]\nw = a[5:20]\nfar = a[50:]")
    before = dict(hasher.hash_namespace(ns, set()))
    out = cell(ns, hasher, "v[:] = 1")
    assert out["a"] != before["a"] and out["w"] != before["w"]
    assert_true_hashes(ns, out)
    out = cell(ns, hasher, "v.base[60] = 2")  # beyond v's own bytes, through its base
    assert out["far"] != before["far"]
    assert_true_hashes(ns, out)


def test_what_a_cell_wrote_through_before_deleting_or_rebinding_it_is_seen():
    ns, hasher = start("a = np.zeros(10)\nv = a[:5]\nu = a[5:]")
    before = dict(hasher.hash_namespace(ns, set()))
    out = cell(ns, hasher, "v[0] = 1\ndel v")
    assert out["a"] != before["a"]
    assert_true_hashes(ns, out)
    out = cell(ns, hasher, "u[0] = 1\nu = None")
    assert_true_hashes(ns, out)
    assert out["a"] == hash_value(ns["a"]) != hash_value(np.zeros(10))


def test_arrays_over_one_buffer_and_the_buffer_itself():
    ns, hasher = start(
        "buf = bytearray(80)\nx = np.frombuffer(buf, dtype=np.int64)\ny = np.frombuffer(buf, dtype=np.int64)"
    )
    before = dict(hasher.hash_namespace(ns, set()))
    out = cell(ns, hasher, "x[0] = 5")  # y's base is another memoryview: the same bytes
    assert out["y"] != before["y"] and out["buf"] != before["buf"]
    assert_true_hashes(ns, out)
    out = cell(ns, hasher, "buf[9] = 1")
    assert out["x"] != before["x"]
    assert_true_hashes(ns, out)


def test_objects_holding_arrays_and_the_arrays_they_hold():
    ns, hasher = start("exog = np.ones((4, 2))")
    ns["model"] = Model(ns["exog"])  # type: ignore[arg-type]
    ns["res"] = Results(ns["model"])  # type: ignore[arg-type]
    hasher.hash_namespace(ns, {"model", "res"})
    before = dict(hasher.hash_namespace(ns, set()))
    out = cell(ns, hasher, "exog[0, 0] = 3")
    assert out["model"] != before["model"] and out["res"] != before["res"]
    assert_true_hashes(ns, out)
    out = cell(ns, hasher, "res.model.exog[1, 1] = 4")
    assert out["exog"] != before["exog"]
    assert_true_hashes(ns, out)
    out = cell(ns, hasher, "res.frame.loc[0, 'p'] = -1")
    assert_true_hashes(ns, out)


def test_pandas_objects_sharing_memory_with_arrays():
    ns, hasher = start(
        """
        arr = np.zeros((5, 2))
        df = pd.DataFrame(arr, copy=False)
        col = df[0]
        idx = pd.Index(np.arange(5.0), copy=False)
        src = idx.values
        strs = pd.Series(["a", "b", None], dtype="string[pyarrow]")
        cats = pd.Series(pd.Categorical(["a", "b", "a"]))
        masked = pd.array([1, None, 3], dtype="Int64")
        """
    )
    for code in (
        "arr[0, 0] = 9",
        "df.iloc[1, 1] = 7",
        "x = col.sum()",
        "strs2 = strs.str.upper()",
        "cats = cats.cat.add_categories(['c'])",
        "masked[1] = 2",
    ):
        assert_true_hashes(ns, cell(ns, hasher, code))


def test_a_touched_value_not_walked_whole_rehashes_all_data():
    ns, hasher = start("a = np.zeros(10)\nstuff = [(i for i in ()), a[:3]]\nother = np.ones(3)")
    before = dict(hasher.hash_namespace(ns, set()))
    assert before["stuff"].startswith("unhashable:")
    out = cell(ns, hasher, "stuff[1][0] = 1")  # the walk stopped at the generator
    assert out["a"] != before["a"]
    assert "other" in hasher.hashed_names
    assert_true_hashes(ns, {k: v for k, v in out.items() if k != "stuff"})


def test_data_whose_memory_cannot_be_located_is_hashed_after_every_cell():
    ns, hasher = start("sp = pd.Series(pd.arrays.SparseArray([0, 1, 0]))\nx = 1")
    cell(ns, hasher, "x = 2")
    assert sorted(hasher.hashed_names) == ["sp", "x"]


def test_interleaved_cells_always_record_the_current_content():
    ns, hasher = start(
        """
        base = np.arange(12.0).reshape(3, 4)
        row = base[1]
        t = base.T
        flat = base.ravel()
        box = {"w": base[:, :2], "n": 1}
        frame = pd.DataFrame({"v": np.arange(3.0)})
        """
    )
    cells = [
        "row *= 2",
        "t[0, 0] = -1",
        "box['w'][2, 1] = 8",
        "box['n'] += 1",
        "frame['v'] = frame['v'] + 1",
        "flat[-1] = 100",
        "new = base.copy()\nnew[0] = 0",
        "base = np.zeros(2)",
        "row[:] = 0",
        "del t",
        "flat.sort()",
    ]
    for code in cells:
        assert_true_hashes(ns, cell(ns, hasher, code))


def test_reading_shared_data_checks_only_that_data_not_every_holder():
    ns, hasher = start("data = pd.DataFrame({'y': np.arange(6.0), 'x': np.ones(6)})")
    ns["fits"] = [Results(Model(ns["data"].to_numpy())) for _ in range(3)]  # type: ignore[attr-defined]
    ns["holder"] = {"frame": ns["data"], "fits": ns["fits"]}
    hasher.hash_namespace(ns, {"fits", "holder"})
    before = dict(hasher.hash_namespace(ns, set()))
    out = cell(ns, hasher, "n = data.shape[0]")
    assert "holder" not in hasher.hashed_names and hasher.watched_checked >= 1
    assert out["holder"] == before["holder"]
    out = cell(ns, hasher, "data.loc[0, 'y'] = 9.0")
    assert out["holder"] != before["holder"] and "holder" in hasher.hashed_names
    assert_true_hashes(ns, out)


def test_a_large_object_array_caches_the_memory_of_the_arrays_inside_it():
    inner = np.zeros(10)
    outer = np.empty(3, dtype=object)
    outer[:] = [inner, 1, 2]
    ns: dict[str, object] = {"inner": inner, "outer": outer, "pair": (outer, 1)}
    hasher = StateHasher(large_bytes=8)  # every array counts as large: its token is cached
    before = dict(hasher.hash_namespace(ns, None))
    out = cell(ns, hasher, "inner[0] = 1")
    assert out["outer"] != before["outer"] and out["pair"] != before["pair"]
    assert_true_hashes(ns, out)


def test_a_shared_mutable_object_whose_token_did_not_change_leaves_its_holders_alone():
    ns, hasher = start("shared = {'k': 1}\na = [shared, 1]\nb = [shared, 2]\nc = [shared, 3]")
    before = dict(hasher.hash_namespace(ns, set()))
    cell(ns, hasher, "n = len(a)")
    assert sorted(hasher.hashed_names) == ["a", "n"]
    out = cell(ns, hasher, "a[0]['k'] = 2")
    assert out["b"] != before["b"] and out["shared"] != before["shared"]
    assert_true_hashes(ns, out)
    ns["shared"]["k"] = 3  # type: ignore[index]  # changed where no cell saw it
    out = cell(ns, hasher, "m = len(b)")  # b is hashed again: its holders follow
    assert_true_hashes(ns, out)


def test_a_named_frame_does_not_check_frames_sharing_only_its_column_names():
    # pandas 3 keeps column names in Arrow buffers, which a copy shares under a new Index;
    # pandas never writes Arrow memory in place, so naming one frame leaves the others alone
    pytest.importorskip("pyarrow")
    ns, hasher = start(
        "data = pd.DataFrame({'y': np.arange(6.0), 'x': np.ones(6)})\ntwin = data.copy()"
    )
    if not hasattr(ns["data"].columns.array, "_pa_array"):  # type: ignore[attr-defined]
        pytest.skip("column names not stored in Arrow by this pandas")
    cell(ns, hasher, "n = len(data)")
    assert "twin" not in hasher.hashed_names and hasher.watched_checked == 0
    out = cell(ns, hasher, "data.columns = ['a', 'b']")
    assert_true_hashes(ns, out)


def test_arrow_data_viewing_a_numpy_array_changes_when_the_array_is_written():
    pa = pytest.importorskip("pyarrow")
    ns, hasher = start("src = np.arange(4.0)\nx = 1")
    ns["view"] = pd.Series(pd.arrays.ArrowExtensionArray(pa.array(ns["src"])))  # no copy
    before = dict(hasher.hash_namespace(ns, {"view"}))
    out = cell(ns, hasher, "src[0] = 9.0")
    assert out["view"] != before["view"]
    assert_true_hashes(ns, out)
