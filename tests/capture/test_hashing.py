"""Content hashing of kernel state: nbtrack.capture.hashing."""

from __future__ import annotations

import collections
import dataclasses
import enum
import functools
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pandas as pd
import pytest

from nbtrack.capture.hashing import StateHasher, hash_value, is_user_name, names_touched


def is_hash(h: str) -> bool:
    return len(h) == 32 and all(c in "0123456789abcdef" for c in h)


def run_in_fresh_python(code: str, seed: str) -> dict[str, str]:
    """Run ``code`` (which prints JSON) in a new interpreter with the given PYTHONHASHSEED."""
    env = dict(os.environ, PYTHONHASHSEED=seed)
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- values


@pytest.mark.parametrize(
    "value",
    [
        0, 1, -1, 2**70, -(2**70), 1.5, float("inf"), complex(1, 2), "", "héllo", "x" * 100_000,
        b"", b"\x00\xff", None, True, False, [1, [2, [3]]], (1, "a"), {"a": 1}, {1, 2},
        frozenset({"x"}), bytearray(b"ab"), range(3), slice(1, 5), ..., ["s"] * 20,
        [1.5] * 20, list(range(30)), {"nested": {"deep": [1, {2, 3}]}},
    ],
)  # fmt: skip
def test_same_value_gives_same_32_hex_hash(value):
    h = hash_value(value)
    assert is_hash(h), h
    assert hash_value(value) == h
    import copy

    assert hash_value(copy.deepcopy(value)) == h


def test_different_values_hash_differently():
    values = [
        0, 1, -1, 0.0, -0.0, 1.0, True, False, None, "", "0", "1", b"", b"0", (), [], {}, set(),
        frozenset(), (1,), [1], {1}, {1: None}, ("a", "b"), ("ab",), ["a", "b"], [["a"], "b"],
        [1, 2], [2, 1], 2**64, 2**63, -(2**63), 1 + 0j, "x" * 70_000, "x" * 70_001,
        ["s"] * 20, ["s"] * 19 + ["t"], [1.0] * 20, [1] * 20, [True] * 20, list(range(20)),
        [1.0] * 19 + [float("nan")], ["a\0b", "c"] * 5, ["a", "b\0c"] * 5, ["ab", "c"] * 5,
    ]  # fmt: skip
    hashes = [hash_value(v) for v in values]
    assert len(set(hashes)) == len(values)


def test_negative_zero_and_nan_are_deterministic():
    assert hash_value(0.0) != hash_value(-0.0)
    nan_a = float("nan")
    nan_b = float("inf") - float("inf")  # a NaN with a different bit pattern on x86
    assert hash_value(nan_a) == hash_value(nan_b)
    assert hash_value([nan_a] * 10) == hash_value([nan_b] * 10)
    assert hash_value(complex(nan_a, 0)) == hash_value(complex(nan_b, 0))


def test_sets_and_dicts_are_hashed_order_independently():
    assert hash_value({"a": 1, "b": 2}) == hash_value({"b": 2, "a": 1})
    assert hash_value({3, 1, 2}) == hash_value({2, 3, 1})
    assert hash_value({"a": 1, "b": 2}) != hash_value({"a": 2, "b": 1})
    # OrderedDict equality depends on order, so its hash does too
    a = collections.OrderedDict([("a", 1), ("b", 2)])
    b = collections.OrderedDict([("b", 2), ("a", 1)])
    assert hash_value(a) != hash_value(b)
    assert hash_value(collections.defaultdict(list, a)) == hash_value(
        collections.defaultdict(list, b)
    )
    assert hash_value(collections.defaultdict(list, a)) != hash_value(dict(a))


def test_lists_and_tuples_keep_order_and_type():
    assert hash_value([1, 2]) != hash_value([2, 1])
    assert hash_value([1, 2]) != hash_value((1, 2))
    assert hash_value(["a"] * 10) != hash_value(("a",) * 10)


def test_hashes_are_stable_across_processes_and_hash_seeds():
    code = """
        import json, collections
        import numpy as np, pandas as pd
        import os
        from nbtrack.capture.hashing import hash_value
        src = "\\n" * int(os.environ["PYTHONHASHSEED"]) + "def f(x, y=2):\\n    return [x + y for _ in range(3)]\\n"
        exec(compile(src, "<cell-" + os.environ["PYTHONHASHSEED"] + ">", "exec"))  # another cell, line
        class Point:
            def __init__(self, x):
                self.x = x
            def norm(self):
                return abs(self.x)
        for _ in range(200):  # warm up CPython's adaptive bytecode
            f(1)
        values = {
            "strings": {"alpha", "beta", "gamma", "delta", "epsilon"},
            "frozen": frozenset({("a", 1), ("b", 2)}),
            "dict": {"b": [1, 2], "a": {"x", "y"}, 3: None},
            "function": f,
            "lambda": lambda v: v * 2,
            "class": Point,
            "instance": Point(3),
            "module": np,
            "array": np.arange(12.0).reshape(3, 4),
            "objects": np.array(["a", None, 1.5, {"k"}], dtype=object),
            "frame": pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=["r", "s"]),
            "counter": collections.Counter("mississippi"),
        }
        print(json.dumps({k: hash_value(v) for k, v in values.items()}))
    """
    first = run_in_fresh_python(code, "1")
    second = run_in_fresh_python(code, "4242")
    assert first == second
    assert all(is_hash(h) for h in first.values()), first


# ---------------------------------------------------------------- aliasing


def test_mutation_through_alias_changes_hash():
    a = [1, 2, 3]
    before = hash_value(a)
    b = a
    b[0] = 100
    assert hash_value(a) != before


def test_cycles_are_hashed_without_recursing_forever():
    a: list[object] = [1]
    a.append(a)
    b: list[object] = [1]
    b.append(b)
    assert is_hash(hash_value(a))
    assert hash_value(a) == hash_value(b)
    c: list[object] = [2]
    c.append(c)
    assert hash_value(a) != hash_value(c)
    d: dict[str, object] = {}
    d["self"] = d
    assert is_hash(hash_value(d))
    x: list[object] = []
    y: list[object] = [x]
    x.append(y)
    assert is_hash(hash_value(x))


def test_shared_subobjects_are_hashed_once_not_exponentially():
    x: list[object] = [1]
    for _ in range(200):
        x = [x, x]
    assert hash_value(x).startswith("unhashable:nested deeper")
    y: list[object] = [1]
    for _ in range(60):
        y = [y, y]  # 2**60 paths, 60 levels
    assert is_hash(hash_value(y))


def test_deep_nesting_gives_marker_not_recursion_error():
    deep: list[object] = []
    for _ in range(10_000):
        deep = [deep]
    assert hash_value(deep).startswith("unhashable:")
    shallow: list[object] = []
    for _ in range(50):
        shallow = [shallow]
    assert is_hash(hash_value(shallow))


# ---------------------------------------------------------------- numpy


def test_numpy_arrays_hash_by_value_dtype_and_shape():
    a = np.arange(12, dtype=np.float64)
    assert hash_value(a) == hash_value(a.copy())
    assert hash_value(a) != hash_value(a.astype(np.float32))
    assert hash_value(a) != hash_value(a.reshape(3, 4))
    b = a.copy()
    b[5] = -1
    assert hash_value(a) != hash_value(b)


def test_numpy_in_place_edit_changes_hash():
    a = np.zeros(1000)
    before = hash_value(a)
    view = a[10:20]
    view[0] = 1
    assert hash_value(a) != before


def test_non_contiguous_views_hash_like_contiguous_copies():
    m = np.arange(24.0).reshape(4, 6)
    assert hash_value(m[:, ::2]) == hash_value(np.ascontiguousarray(m[:, ::2]))
    assert hash_value(m.T) == hash_value(np.ascontiguousarray(m.T))
    assert hash_value(np.asfortranarray(m)) == hash_value(m)
    assert hash_value(m[::-1]) != hash_value(m)


def test_numpy_object_arrays_hash_elements_by_value():
    a = np.array(["x", [1, 2], None], dtype=object)
    b = np.array(["x", [1, 2], None], dtype=object)  # equal values, different objects
    assert hash_value(a) == hash_value(b)
    a[1].append(3)
    assert hash_value(a) != hash_value(b)
    words = np.array(["a", "bb", "ccc"] * 10, dtype=object)
    assert hash_value(words) == hash_value(words.copy())
    assert hash_value(words) != hash_value(np.array(["a", "bb", "cc"] * 10, dtype=object))


def test_numpy_special_dtypes():
    dates = np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[D]")
    assert is_hash(hash_value(dates))
    assert hash_value(dates) != hash_value(dates.astype("datetime64[s]"))
    rec = np.zeros(3, dtype=[("x", "i4"), ("y", "f8")])
    assert is_hash(hash_value(rec))
    assert hash_value(np.float64(1.0)) != hash_value(np.float32(1.0))
    assert hash_value(np.float64(1.0)) != hash_value(1.0)
    assert is_hash(hash_value(np.dtype("int16")))
    masked = np.ma.masked_array([1, 2, 3], mask=[0, 1, 0])
    assert hash_value(masked) != hash_value(np.ma.masked_array([1, 2, 3], mask=[0, 0, 0]))
    assert is_hash(hash_value(np.empty((0, 3))))


# ---------------------------------------------------------------- pandas


def objects(*items: object) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = list(items)
    return out


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": [1, 2, 3],
            "f": [0.5, np.nan, 2.0],
            "s": ["a", "b", None],
            "o": objects({"k": 1}, [1], "x"),
            "c": pd.Categorical(["u", "v", "u"]),
            "n": pd.array([1, None, 3], dtype="Int64"),
            "t": pd.to_datetime(["2020-01-01", "2020-01-02", None]).tz_localize("UTC"),
        },
        index=pd.Index(["r1", "r2", "r3"], name="row"),
    )


def test_pandas_frames_hash_by_value():
    assert hash_value(frame()) == hash_value(frame())
    assert hash_value(frame()) == hash_value(frame().copy())


def test_pandas_in_place_edit_changes_hash():
    df = frame()
    before = hash_value(df)
    df.iloc[0, 0] = 99
    assert hash_value(df) != before
    df = frame()
    df.loc["r2", "s"] = "z"
    assert hash_value(df) != before
    df = frame()
    df["o"].iloc[0]["k"] = 2  # mutating an object held in a cell
    assert hash_value(df) != before


def test_pandas_column_names_and_index_are_part_of_the_hash():
    df = frame()
    assert hash_value(df) != hash_value(df.rename(columns={"i": "j"}))
    assert hash_value(df) != hash_value(df.reset_index())
    assert hash_value(df) != hash_value(df.set_axis(["a", "b", "c"]))
    assert hash_value(df) != hash_value(df.rename_axis("other"))


@pytest.mark.parametrize(
    "make",
    [
        lambda: pd.Index([1, 2, 3]),
        lambda: pd.Index(["a", "b"]),
        lambda: pd.Index(["a", "b"], dtype=object),
        lambda: pd.RangeIndex(5),
        lambda: pd.MultiIndex.from_tuples([(1, "a"), (2, "b")], names=["n", "s"]),
        lambda: pd.CategoricalIndex(["x", "y", "x"]),
        lambda: pd.DatetimeIndex(["2020-01-01", "2021-06-01"]),
        lambda: pd.date_range("2020", periods=3, freq="D", tz="Europe/Paris"),
        lambda: pd.period_range("2020-01", periods=3, freq="M"),
        lambda: pd.interval_range(0, 3),
        lambda: pd.Series([1.0, 2.0], name="s"),
        lambda: pd.Series(["x", None, "z"], dtype="string"),
        lambda: pd.Series([True, None], dtype="boolean"),
        lambda: pd.Series([1, 2], dtype="int64[pyarrow]"),
        lambda: pd.Series([[1], None], dtype=object),
    ],
)
def test_pandas_indexes_and_series_hash_consistently(make):
    assert is_hash(hash_value(make())), hash_value(make())
    assert hash_value(make()) == hash_value(make())


def test_pandas_distinguishes_index_and_series_contents():
    assert hash_value(pd.Index(["a", "b"])) != hash_value(pd.Index(["a", "c"]))
    assert hash_value(pd.Index(["ab", "c"])) != hash_value(pd.Index(["a", "bc"]))
    assert hash_value(pd.Series([1, 2], name="a")) != hash_value(pd.Series([1, 2], name="b"))
    mi = pd.MultiIndex.from_tuples([(1, "a"), (2, "b")])
    assert hash_value(mi) != hash_value(pd.MultiIndex.from_tuples([(1, "b"), (2, "a")]))
    assert hash_value(pd.Series([1, None], dtype="Int64")) != hash_value(
        pd.Series([1, 0], dtype="Int64")
    )


def test_arrow_strings_hash_by_content_whatever_their_arrow_layout():
    pa = pytest.importorskip("pyarrow")
    words = ["", "a", "bé", "€uro", "😀", "plain", "z"]

    def series(arr):
        return pd.Series(pd.arrays.ArrowStringArray(arr))

    for part in (words[:2], words[1:5], words[4:], ["ascii", "only"], words):
        want = hash_value(series(pa.array(part, type=pa.large_string())))
        # narrow offsets, a slice of a longer array, several chunks: the same strings
        assert hash_value(series(pa.array(part, type=pa.string()))) == want
        wide = pa.array(["x"] + part + ["y"], type=pa.string())
        assert hash_value(series(wide.slice(1, len(part)))) == want
        chunks = pa.chunked_array([part[:1], part[1:]], type=pa.string())
        assert hash_value(series(chunks)) == want
    # the same text split into other strings
    for a, b in ((["ab", "c"], ["a", "bc"]), (["éa", "b"], ["é", "ab"])):
        assert hash_value(series(pa.array(a))) != hash_value(series(pa.array(b)))


# ---------------------------------------------------------------- code


def compile_function(src: str, name: str = "f", filename: str = "<cell-1>"):
    ns: dict[str, object] = {"__name__": "__main__"}
    exec(compile(textwrap.dedent(src), filename, "exec"), ns)
    return ns[name]


def test_functions_hash_by_code_not_address():
    src = "def f(x, k=3):\n    return x * k\n"
    f1 = compile_function(src, filename="<cell-1>")
    f2 = compile_function("\n\n" + src, filename="<cell-9>")  # other cell, other line
    assert hash_value(f1) == hash_value(f2)
    assert hash_value(f1) != hash_value(compile_function(src.replace("x * k", "x + k")))
    assert hash_value(f1) != hash_value(compile_function(src.replace("k=3", "k=4")))
    assert hash_value(f1) != hash_value(compile_function(src.replace("def f", "def g"), "g"))


def test_nested_code_and_closures_are_part_of_a_functions_hash():
    src = """
        def make(n):
            def inner(x):
                return [x + n for _ in range(2)]
            return inner
        f = make(1)
    """
    assert hash_value(compile_function(src)) == hash_value(compile_function(src))
    assert hash_value(compile_function(src)) != hash_value(
        compile_function(src.replace("make(1)", "make(2)"))
    )
    assert hash_value(compile_function(src)) != hash_value(
        compile_function(src.replace("range(2)", "range(3)"))
    )


def test_lambdas_hash_by_code():
    assert hash_value(lambda x: x + 1) == hash_value(lambda x: x + 1)
    assert hash_value(lambda x: x + 1) != hash_value(lambda x: x + 2)


def test_function_hash_is_unaffected_by_warm_up_and_history():
    f = compile_function(
        "def f(n):\n    s = 0\n    for i in range(n):\n        s += i * 2.0\n    return s\n"
    )
    before = hash_value(f)
    for _ in range(500):  # CPython specialises hot bytecode in place
        f(20)
    assert hash_value(f) == before
    nt_class = compile_function(
        "import typing\nclass P(typing.NamedTuple):\n    x: int\n    y: str = 'a'\n", "P"
    )
    before = hash_value(nt_class)
    hash_value(nt_class(1))  # pickling machinery caches __slotnames__ on the class
    assert hash_value(nt_class) == before


def test_recursive_function_hashes():
    f = compile_function("def f(n):\n    return 1 if n < 1 else n * f(n - 1)\n")
    assert is_hash(hash_value(f))


def test_importable_functions_and_classes_hash_by_name():
    assert hash_value(json.dumps) == hash_value(json.dumps)
    assert hash_value(json.dumps) != hash_value(json.loads)
    assert hash_value(np.mean) != hash_value(np.median)
    assert is_hash(hash_value(pd.DataFrame))
    assert is_hash(hash_value(len))
    assert is_hash(hash_value([].append))
    assert is_hash(hash_value(str.upper))
    assert is_hash(hash_value(functools.partial(json.dumps, indent=2)))
    assert hash_value(functools.partial(json.dumps, indent=2)) != hash_value(
        functools.partial(json.dumps, indent=3)
    )


def test_modules_hash_by_name_and_version():
    assert hash_value(np) == hash_value(sys.modules["numpy"])
    assert hash_value(np) != hash_value(pd)
    assert is_hash(hash_value(json))


def test_notebook_classes_hash_by_code():
    src = """
        class Model:
            scale = 2
            def __init__(self, w):
                self.w = w
            def predict(self, x):
                return x * self.w * self.scale
            @property
            def double(self):
                return 2 * self.w
            @staticmethod
            def helper():
                return 1
            @classmethod
            def make(cls):
                return cls(1)
    """
    a = compile_function(src, "Model")
    b = compile_function(src, "Model", filename="<cell-7>")
    assert hash_value(a) == hash_value(b)
    assert hash_value(a(3)) == hash_value(b(3))
    assert hash_value(a(3)) != hash_value(a(4))
    c = compile_function(src.replace("x * self.w", "x + self.w"), "Model")
    assert hash_value(a) != hash_value(c)
    assert hash_value(a(3)) != hash_value(c(3))


def test_dataclasses_enums_and_slots_objects_hash():
    @dataclasses.dataclass
    class P:
        x: int
        y: list[int] = dataclasses.field(default_factory=list)

    class Color(enum.Enum):
        RED = 1
        BLUE = 2

    class Slotted:
        __slots__ = ("a", "b")

        def __init__(self, a, b):
            self.a, self.b = a, b

    assert hash_value(P(1)) == hash_value(P(1))
    assert hash_value(P(1)) != hash_value(P(2))
    assert is_hash(hash_value(P))
    assert hash_value(Color.RED) != hash_value(Color.BLUE)
    assert is_hash(hash_value(Color))
    assert hash_value(Slotted(1, [2])) == hash_value(Slotted(1, [2]))
    assert hash_value(Slotted(1, [2])) != hash_value(Slotted(1, [3]))


def test_generic_objects_hash_by_state():
    class Box:
        def __init__(self, items):
            self.items = items

    a, b = Box({"x", "y"}), Box({"y", "x"})
    assert hash_value(a) == hash_value(b)
    a.items.add("z")
    assert hash_value(a) != hash_value(b)
    import datetime
    import decimal
    import fractions
    import pathlib

    for v in [datetime.datetime(2020, 1, 1), decimal.Decimal("1.10"), fractions.Fraction(1, 3)]:
        assert is_hash(hash_value(v)), v
    assert hash_value(pathlib.Path("/a")) != hash_value(pathlib.Path("/b"))
    import re

    assert hash_value(re.compile("a+")) != hash_value(re.compile("b+"))  # via copyreg
    d = {"a": 1, "b": 2}
    assert hash_value(d.keys()) == hash_value({"b": 2, "a": 1}.keys())
    assert hash_value(d.keys()) != hash_value(d.values())


# ---------------------------------------------------------------- unhashable


def test_generators_files_locks_and_sockets_give_markers(tmp_path):
    gen = (i for i in range(3))
    assert hash_value(gen) == "unhashable:generator"

    async def coro():
        return 1

    c = coro()
    assert hash_value(c) == "unhashable:coroutine"
    c.close()
    assert hash_value(threading.Lock()) == "unhashable:cannot pickle '_thread.lock' object"
    assert hash_value(threading.RLock()).startswith("unhashable:")
    with open(tmp_path / "f.txt", "w") as fh:
        assert hash_value(fh) == "unhashable:open file"
        assert hash_value({"log": fh}) == "unhashable:open file"
    with open(tmp_path / "f.txt", "rb") as fh:
        assert hash_value(fh) == "unhashable:open file"
    with socket.socket() as sock:
        assert hash_value(sock).startswith("unhashable:")
    import io

    assert is_hash(hash_value(io.BytesIO(b"abc")))


def test_objects_whose_pickling_raises_give_markers_and_never_raise():
    class Bad:
        def __reduce_ex__(self, protocol):
            raise RuntimeError("no pickling for you")

    class BadState:
        def __getstate__(self):
            raise ValueError("state is secret")

    class HoldsLock:
        def __init__(self):
            self.lock = threading.Lock()

    assert hash_value(Bad()) == "unhashable:no pickling for you"
    assert hash_value(BadState()) == "unhashable:state is secret"
    assert hash_value([1, Bad()]) == "unhashable:no pickling for you"
    assert hash_value(HoldsLock()) == "unhashable:cannot pickle '_thread.lock' object"


# ---------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name",
    ["_", "__", "___", "_7", "_i", "_ii", "_iii", "_i12", "_ih", "_oh", "_dh", "In", "Out",
     "exit", "quit", "get_ipython", "__builtins__", "__name__", "__session__"],
)  # fmt: skip
def test_ipython_bookkeeping_names_are_not_user_names(name):
    assert not is_user_name(name)


@pytest.mark.parametrize("name", ["x", "df", "_x", "_private", "i", "_id", "In2", "data_"])
def test_ordinary_names_are_user_names(name):
    assert is_user_name(name)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("x = 1", {"x"}),
        ("y = f(x)\nz.attr = 3\nw[0] += 1", {"y", "f", "x", "z", "w"}),
        ("a.b.c[d].e = 1", {"a", "d"}),
        ("del q", {"q"}),
        ("import numpy as np\nimport os.path\nfrom json import dumps as d", {"np", "os", "d"}),
        ("def g(a):\n    global G\n    G = a\n", {"g", "a", "G"}),
        ("class K:\n    pass", {"K"}),
        ("try:\n    pass\nexcept E as err:\n    pass", {"E", "err"}),
        ("[v for v in items]", {"v", "items"}),
        ("get_ipython().run_line_magic('matplotlib', 'inline')", {"inline"}),
        ("x = get_ipython().getoutput('ls')", {"x"}),
        ("get_ipython().system('pip list')", set()),
        ("get_ipython().run_line_magic('time', 'r = model.fit(X)')", {"r", "model", "X"}),
        ("get_ipython().run_cell_magic('time', '', 'a = b + 1\\n')", {"a", "b"}),
        ("get_ipython().run_cell_magic('capture', 'out', 'print(x)\\n')", {"out", "print", "x"}),
        ("get_ipython().run_cell_magic('bash', '', 'ls -l\\n')", set()),
    ],
)
def test_names_touched_finds_what_a_cell_may_touch(code, expected):
    assert names_touched(code) == expected


@pytest.mark.parametrize(
    "code",
    [
        "x = (",
        "exec('y = 1')",
        "eval('y')",
        "globals()['y'] = 1",
        "vars()['y'] = 1",
        "locals()",
        "import sys\nsys.modules['__main__'].y = 1",
        "import __main__\n__main__.y = 1",
        "setattr(sys.modules[__name__], 'y', 1)",
        "from os import *",
        "get_ipython().run_line_magic('run', 'script.py')",
        "get_ipython().run_line_magic('reset', '-f')",
        "get_ipython().run_line_magic('store', '-r')",
        "get_ipython().run_cell_magic('unknown_magic', '', 'y = 1')",
        "ip = get_ipython()\nip.user_ns['y'] = 1",
        "get_ipython().push({'y': 1})",
    ],
)
def test_names_touched_gives_up_when_it_cannot_tell(code):
    assert names_touched(code) is None


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("%time y = f(x)", {"y", "f", "x"}),
        ("%%time\nz = g(w)\n", {"z", "g", "w"}),
        ("%%capture cap\n%time a = b\n", {"cap", "a", "b"}),
        ("files = !ls\n", {"files"}),
        ("df?", {"df"}),
        ("%matplotlib inline\nimport numpy as np", {"inline", "np"}),
        ("%run script.py", None),
        ("%reset -f", None),
        ("%store -r data", None),
        ("%%javascript\nconsole.log(1)\n", set()),
        ("%%sql\nSELECT 1\n", None),
    ],
)
def test_names_touched_on_code_transformed_by_ipython(cell, expected):
    from IPython.core.inputtransformer2 import TransformerManager

    assert names_touched(TransformerManager().transform_cell(cell)) == expected


# ---------------------------------------------------------------- StateHasher


def test_hash_namespace_covers_user_names_only():
    ns = {"x": 1, "_": 2, "_i3": "x = 1", "In": [], "__name__": "__main__", "secret": 5}
    result = StateHasher().hash_namespace(ns, None, hidden={"secret"})
    assert set(result) == {"x"}
    assert result["x"] == hash_value(1)


def test_unchanged_large_array_is_not_rehashed():
    big = np.random.default_rng(0).random(200_000)  # 1.6 MB
    ns = {"big": big, "x": 1}
    hasher = StateHasher()
    first = hasher.hash_namespace(ns, None)
    assert hasher.stats["large_hashed"] == 1
    ns["x"] = 2
    second = hasher.hash_namespace(ns, {"x"})
    assert hasher.stats["large_hashed"] == 0 and hasher.hashed_names == ["x"]  # not even walked
    assert second["big"] == first["big"] == hash_value(big)
    assert second["x"] != first["x"]


def test_touched_large_array_is_rehashed():
    big = np.zeros(200_000)
    ns = {"big": big}
    hasher = StateHasher()
    first = hasher.hash_namespace(ns, None)
    big[0] = 1
    second = hasher.hash_namespace(ns, names_touched("big[0] = 1"))
    assert hasher.stats["large_hashed"] == 1
    assert second["big"] != first["big"]
    assert second["big"] == hash_value(big)


def test_aliased_large_array_inside_touched_list_gets_new_hash():
    arr = np.zeros(200_000)
    lst = [arr]
    ns = {"arr": arr, "lst": lst}
    hasher = StateHasher()
    first = hasher.hash_namespace(ns, None)
    lst[0][0] = 5
    second = hasher.hash_namespace(ns, names_touched("lst[0][0] = 5"))
    assert second["arr"] != first["arr"]
    assert second["arr"] == hash_value(arr)
    assert hasher.stats["large_hashed"] == 1  # once, while hashing lst; reused for arr


def test_write_through_small_view_invalidates_large_base():
    arr = np.zeros(200_000)
    ns = {"arr": arr, "head": arr[:10]}
    hasher = StateHasher()
    first = hasher.hash_namespace(ns, None)
    ns["head"][0] = 7
    second = hasher.hash_namespace(ns, names_touched("head[0] = 7"))
    assert second["arr"] != first["arr"]
    assert second["arr"] == hash_value(arr)


def test_function_mutating_a_global_array_counts_as_touching_it():
    src = """
        import numpy as np
        data = np.zeros(200_000)
        def helper():
            data[0] += 1
        def bump():
            helper()
    """
    ns: dict[str, object] = {"__name__": "__main__"}
    exec(textwrap.dedent(src), ns)
    hasher = StateHasher()
    first = hasher.hash_namespace(ns, None)
    exec("bump()", ns)
    second = hasher.hash_namespace(ns, names_touched("bump()"))
    assert second["data"] != first["data"]
    assert second["data"] == hash_value(ns["data"])


def test_function_called_through_a_dict_counts_as_touching_its_globals():
    src = """
        import numpy as np
        data = np.zeros(200_000)
        def bump():
            data[0] += 1
        ops = {"bump": bump}
    """
    ns: dict[str, object] = {"__name__": "__main__"}
    exec(textwrap.dedent(src), ns)
    hasher = StateHasher()
    first = hasher.hash_namespace(ns, None)
    exec("ops['bump']()", ns)
    second = hasher.hash_namespace(ns, names_touched("ops['bump']()"))
    assert second["data"] != first["data"]


def test_method_of_notebook_class_mutating_global_counts_as_touching_it():
    src = """
        import numpy as np
        weights = np.zeros(200_000)
        class Trainer:
            def step(self):
                weights[:] += 1
        trainer = Trainer()
    """
    ns: dict[str, object] = {"__name__": "__main__"}
    exec(textwrap.dedent(src), ns)
    hasher = StateHasher()
    first = hasher.hash_namespace(ns, None)
    exec("trainer.step()", ns)
    second = hasher.hash_namespace(ns, names_touched("trainer.step()"))
    assert second["weights"] != first["weights"]


def test_large_dataframe_cached_until_touched():
    df = pd.DataFrame({"a": np.arange(300_000), "b": np.ones(300_000)})
    ns = {"df": df, "n": 1}
    hasher = StateHasher()
    first = hasher.hash_namespace(ns, None)
    hasher.hash_namespace(ns, {"n"})
    assert hasher.stats["large_hashed"] == 0 and hasher.hashed_names == ["n"]
    df.iloc[0, 0] = -1
    second = hasher.hash_namespace(ns, names_touched("df.iloc[0, 0] = -1"))
    assert second["df"] != first["df"]
    assert second["df"] == hash_value(df)


def test_large_object_array_holding_mutable_items_is_never_cached():
    cells = np.empty(5_000, dtype=object)
    cells[:] = 0
    inner: list[int] = []
    cells[0] = inner
    ns = {"cells": cells, "inner": inner}
    hasher = StateHasher(large_bytes=1 << 12)
    first = hasher.hash_namespace(ns, None)
    inner.append(1)
    second = hasher.hash_namespace(ns, names_touched("inner.append(1)"))
    assert second["cells"] != first["cells"]


def test_replaced_large_object_is_hashed_not_confused_with_old_id():
    hasher = StateHasher()
    ns = {"big": np.zeros(200_000)}
    first = hasher.hash_namespace(ns, None)
    ns["big"] = np.ones(200_000)
    second = hasher.hash_namespace(ns, set())  # the caller lied: untouched, yet rebound
    assert second["big"] != first["big"]


def test_hash_namespace_never_raises():
    class Exploding:
        def __reduce_ex__(self, protocol):
            raise KeyError("boom")

    ns = {"ok": 1, "bad": Exploding(), "gen": (i for i in range(2))}
    result = StateHasher().hash_namespace(ns, None)
    assert result["bad"] == "unhashable:'boom'"
    assert result["gen"] == "unhashable:generator"
    assert is_hash(result["ok"])


def test_slow_untouched_python_objects_are_not_rehashed_every_cell(monkeypatch):
    monkeypatch.setenv("NBTRACK_HASH_SECONDS", "600")  # a loaded machine must not hit the budget
    records = [{"id": i, "tags": [i, i + 1]} for i in range(100_000)]
    ns = {"records": records, "n": 1}
    hasher = StateHasher()
    first = hasher.hash_namespace(ns, None)
    records.append({"id": -1})  # reached only through the name, which the next cell does not touch
    assert hasher.hash_namespace(ns, {"n"})["records"] == first["records"]
    assert (
        hasher.hash_namespace(ns, names_touched("records.append(1)"))["records"] != first["records"]
    )


def test_runtime_machinery_is_marked_not_walked():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    assert hash_value(shell).startswith("unhashable:IPython.core.interactiveshell.InteractiveShell")
