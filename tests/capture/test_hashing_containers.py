"""Large lists, tuples, dicts and sets: hashed in chunks, unchanged chunks reused across cells,
with the guarantees of the canonical encoder (nbtrack.capture.canonical.containers)."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from nbtrack.capture.canonical import containers
from nbtrack.capture.hashing import StateHasher, hash_value

N = 3 * containers.CHUNK + 17  # several chunks and a partial one


def is_hash(h: str) -> bool:
    return len(h) == 32 and all(c in "0123456789abcdef" for c in h)


def records(n: int = N) -> list[tuple[int, str, float]]:
    return [(i, f"name-{i}", i / 7) for i in range(n)]


def test_large_containers_hash_by_value_and_differ_by_kind():
    values = {
        "list": records(),
        "tuple": tuple(records()),
        "dict": {f"k{i}": (i, i / 3) for i in range(N)},
        "set": {f"e{i}" for i in range(N)},
        "frozenset": frozenset(range(N)),
        "ints": list(range(N)),
        "floats": [i / 3 for i in range(N)],
        "strs": [str(i) for i in range(N)],
    }
    hashes = {k: hash_value(v) for k, v in values.items()}
    assert all(is_hash(h) for h in hashes.values()), hashes
    assert len(set(hashes.values())) == len(hashes)
    for k, v in values.items():
        copy = type(v)(list(v.items()) if isinstance(v, dict) else list(v))
        assert hash_value(copy) == hashes[k], k
    assert hash_value(set(range(N))) != hash_value(frozenset(range(N)))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([0.0] * N, [0.0] * (N - 1) + [-0.0]),
        ([1] * N, [1] * (N - 1) + [True]),
        ([1] * N, [1] * (N - 1) + [1.0]),
        ([(1, 2)] * N, [(1, 2)] * (N - 1) + [(1, 2.0)]),
        ([(0, "a")] * N, [(0, "a")] * (N - 1) + [(False, "a")]),
        ([None] * N, [None] * (N - 1) + [0]),
        ([b"x"] * N, [b"x"] * (N - 1) + ["x"]),
        ([b"x"] * N, [b"x"] * (N - 1) + [bytearray(b"x")]),
        ({i: 1 for i in range(N)}, {i: True for i in range(N)}),
        ({i: 0.0 for i in range(N)}, {**{i: 0.0 for i in range(N)}, 5: -0.0}),
        ({float(i) for i in range(N)}, {float(i) for i in range(N - 1)} | {-0.0}),
    ],
)
def test_equal_but_different_values_hash_differently(a, b):
    assert hash_value(a) != hash_value(b)


def test_every_nan_is_alike_in_large_containers():
    nan_a = float("nan")
    nan_b = float("inf") - float("inf")
    assert hash_value([nan_a] * N) == hash_value([nan_b] * N)
    assert hash_value([(1, nan_a)] * N) == hash_value([(1, nan_b)] * N)
    assert hash_value({i: nan_a for i in range(N)}) == hash_value({i: nan_b for i in range(N)})


def test_dicts_and_sets_are_order_independent_lists_are_not():
    items = [(f"k{i}", [i, i + 1] if i % 1000 == 0 else i) for i in range(N)]
    assert hash_value(dict(items)) == hash_value(dict(reversed(items)))
    assert hash_value(set(range(N))) == hash_value(set(reversed(range(N))))
    assert hash_value(list(range(N))) != hash_value(list(reversed(range(N))))
    a = collections.OrderedDict(items)
    b = collections.OrderedDict(reversed(items))
    assert hash_value(a) != hash_value(b)


def test_mixed_chunks_fall_back_to_the_encoder_for_what_needs_it():
    class Point:
        def __init__(self, x):
            self.x = x

    mixed = records()
    mixed[5] = Point(1)  # type: ignore[call-overload]
    other = records()
    other[5] = Point(2)  # type: ignore[call-overload]
    assert hash_value(mixed) != hash_value(other)
    assert hash_value(mixed) == hash_value([*mixed])
    nested = [[i] for i in range(N)]
    assert is_hash(hash_value(nested))
    nested[-1].append(1)
    assert hash_value(nested) != hash_value([[i] for i in range(N)])


def test_hashes_of_large_containers_are_stable_across_processes_and_hash_seeds():
    code = textwrap.dedent(
        f"""
        import json
        from nbtrack.capture.hashing import StateHasher, hash_value
        N = {N}
        values = {{
            "list": [(i, f"name-{{i}}", i / 7, None, b"b", True) for i in range(N)],
            "tuple": tuple(str(i) for i in range(N)),
            "dict": {{f"k{{i}}": (i, -0.0, float("nan")) for i in range(N)}},
            "intdict": {{i: str(i) for i in range(N)}},
            "set": {{f"e{{i}}" for i in range(N)}},
            "frozen": frozenset((i, str(i)) for i in range(N)),
            "mixed": [{{"a": i}} if i % 500 == 0 else i for i in range(N)],
            "surrogates": ["\\ud800" + str(i) for i in range(N)],
        }}
        out = {{k: hash_value(v) for k, v in values.items()}}
        state = StateHasher().hash_namespace(values, None)
        out.update({{"ns-" + k: v for k, v in state.items()}})
        print(json.dumps(out))
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    results = []
    for seed in ("0", "12345"):
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=root,
            env=dict(os.environ, PYTHONHASHSEED=seed),
        )
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert results[0] == results[1]
    assert all(is_hash(h) for h in results[0].values()), results[0]
    for k in ("list", "dict", "set"):
        assert results[0][k] == results[0]["ns-" + k]


# ---------------------------------------------------------------- reuse across cells


def test_append_to_a_large_list_rehashes_only_the_last_chunks():
    data = records()
    ns = {"data": data}
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    data.append((-1, "new", 0.5))
    after = hasher.hash_namespace(ns, {"data"})
    assert after["data"] == hash_value(data)
    entry = hasher.chunks.get(data)
    assert entry is not None and len(entry.digests) == len(range(0, len(data), containers.CHUNK))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.__setitem__(10, (10, "name-10", 10 / 7.0 + 1e-9)),
        lambda d: d.__setitem__(containers.CHUNK + 3, (1, "x", 2.0)),
        lambda d: d.__setitem__(0, (0, "name-0", 0 / 7)),  # an equal tuple, another object
        lambda d: d.__setitem__(7, (7, "name-7", True)),  # equal to 1.0? no: another value
        lambda d: d.__setitem__(1, (True, "name-1", 1 / 7)),  # 1 == True, hashed apart
        lambda d: d.insert(5, (0, "", 0.0)),
        lambda d: d.pop(3),
        lambda d: d.reverse(),
        lambda d: d.sort(key=lambda r: r[1]),
        lambda d: d.__delitem__(slice(-10, None)),
        lambda d: d.extend(d[:5]),
    ],
)
def test_in_place_mutations_anywhere_in_a_large_list_are_seen(mutate):
    data = records()
    ns = {"data": data}
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    mutate(data)
    after = hasher.hash_namespace(ns, {"data"})
    assert after["data"] == hash_value(list(data))
    again = hasher.hash_namespace(ns, {"data"})  # and the cache stays right
    assert again["data"] == after["data"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.__setitem__("new", (1, 2.0)),
        lambda d: d.__setitem__("k5", (5, 5 / 3)),  # an equal value, another object
        lambda d: d.__setitem__("k6", (6, 2.0)),
        lambda d: d.__setitem__("k7", (True, 7 / 3)),
        lambda d: d.pop("k100"),
        lambda d: d.update({f"x{i}": i for i in range(5000)}),
        lambda d: [d.pop(f"k{i}") for i in range(0, N, 3)],
        lambda d: d.clear(),
    ],
)
def test_changes_to_a_large_dict_are_seen(mutate):
    data = {f"k{i}": (i, i / 3) for i in range(N)}
    ns = {"data": data}
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    mutate(data)
    after = hasher.hash_namespace(ns, {"data"})
    assert after["data"] == hash_value(dict(data))
    data["later"] = (0, 0.0)
    assert hasher.hash_namespace(ns, {"data"})["data"] == hash_value(dict(data))


def test_mutable_values_inside_a_large_dict_are_never_reused():
    data = {f"k{i}": [i] for i in range(N)}
    ns = {"data": data}
    hasher = StateHasher()
    first = hasher.hash_namespace(ns, None)["data"]
    data["k9"].append(1)
    assert hasher.hash_namespace(ns, {"data"})["data"] != first


def test_an_untouched_large_container_keeps_its_cache_for_a_later_cell():
    data = records()
    ns = {"data": data, "x": 1}
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    ns["x"] = 2
    hasher.hash_namespace(ns, {"x"})
    assert hasher.chunks.get(data) is not None
    del ns["data"]
    hasher.hash_namespace(ns, {"data"})
    assert hasher.chunks.entries == {}


# ---------------------------------------------------------------- large dicts: a few entries changed


def table(n: int = N) -> dict[object, tuple[int, float]]:
    return {f"k{i}": (i, i / 3) for i in range(n)}


def rehash(hasher: StateHasher, ns: dict[str, object]) -> str:
    return hasher.hash_namespace(ns, {"data"})["data"]


def test_updating_one_value_of_a_large_dict_digests_that_entry_alone():
    # Given a large dict hashed once
    data = table()
    ns = {"data": data}
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    assert hasher.chunks.digested == len(data)
    # When a cell replaces one value, then sets one new key
    data["k7"] = (7, 0.5)
    after = rehash(hasher, ns)
    # Then one entry is digested, and the hash is the dict's
    assert hasher.chunks.digested == 1
    assert after == hash_value(dict(data)) != hash_value(table())
    data["new"] = (1, 2.0)
    assert rehash(hasher, ns) == hash_value(dict(data)) and hasher.chunks.digested == 1
    # and hashing it again unchanged digests nothing
    assert rehash(hasher, ns) == hash_value(dict(data))
    assert hasher.chunks.digested == 0


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.__setitem__("k5", (5, -0.0)),  # -0.0 apart from 0.0
        lambda d: d.__setitem__("k0", (0, 0.0 * -1)),
        lambda d: d.__setitem__("k6", (True, 2.0)),  # True apart from 1
        lambda d: d.__setitem__("k6", (6, float("nan"))),
        lambda d: d.__setitem__("k8", [8, 8 / 3]),  # a mutable value: its chunk hashed whole
        lambda d: d.__setitem__("k9", d["k9"]),  # the same object again
        lambda d: d.__setitem__("k10", (10, 10 / 3)),  # an equal value, another object
        lambda d: [d.__setitem__(f"k{i}", (i, 0.0)) for i in range(0, N, 997)],  # every chunk
        lambda d: [d.__setitem__(f"k{i}", (i, 0.0)) for i in range(2000)],  # most of a chunk
        lambda d: d.pop("k3"),  # a hole
        lambda d: (d.pop("k3"), d.__setitem__("k3", (3, 1.0))),  # a hole, the key at the end
        lambda d: [d.pop(f"k{i}") for i in range(0, N, 3)],  # holes everywhere
        lambda d: d.__setitem__(12345, (1, 2.0)),  # str keys only no more: a wider table
        lambda d: d.update({f"x{i}": (i, 1.0) for i in range(3 * containers.CHUNK)}),  # resized
        lambda d: d.popitem(),
        lambda d: [d.popitem() for _ in range(containers.CHUNK + 5)],
        lambda d: (d.clear(), d.update(table())),  # the same content, other objects
        lambda d: (lambda c: (d.clear(), d.update(c)))(dict(d)),  # the same objects again
        lambda d: (lambda c: (d.clear(), d.update(reversed(list(c.items())))))(dict(d)),
    ],
)
def test_any_change_to_a_large_dict_gives_the_hash_of_its_content(mutate):
    data = table()
    ns = {"data": data}
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    mutate(data)
    assert rehash(hasher, ns) == hash_value(dict(data))
    # and the cache stays right for the cells after
    data["k11"] = (11, 11.5)
    data.pop("k12", None)
    assert rehash(hasher, ns) == hash_value(dict(data))
    assert rehash(hasher, ns) == hash_value(dict(data))


def test_deleted_entries_then_updates_and_appends_are_followed():
    data = table()
    ns = {"data": data}
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    for step in range(6):  # delete, update and append in every cell
        data.pop(f"k{100 + step}")
        data[f"k{200 + step}"] = (step, -0.0)
        data[f"n{step}"] = (step, float(step))
        assert rehash(hasher, ns) == hash_value(dict(data)), step
        assert hasher.chunks.digested <= 3


def test_a_dict_mutated_inside_a_large_dict_is_seen():
    data: dict[object, object] = {f"k{i}": (i,) for i in range(N)}
    inner: list[int] = []
    ns = {"data": data}
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    data["k1"] = inner
    first = rehash(hasher, ns)
    inner.append(1)
    assert rehash(hasher, ns) != first
    assert rehash(hasher, ns) == hash_value(dict(data))


def test_a_large_dict_cut_by_the_budget_part_way_through_is_finished_right(monkeypatch):
    # Given a large dict hashed once, then changed in every chunk, new keys included
    data = {i: (i, i / 3) for i in range(50 * containers.CHUNK)}
    ns = {"data": data}
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    for i in range(0, len(data), 1000):
        data[i] = (i, -1.0) if i % 2000 else [i]
    data.update({-i: (i, 0.5) for i in range(1, 2 * containers.CHUNK)})
    # When cells are cut by a tiny budget part way through it
    monkeypatch.setenv("NBTRACK_HASH_SECONDS", "0.002")
    results = [rehash(hasher, ns) for _ in range(5)]
    assert any(r.startswith("unhashable:budget-exceeded") for r in results), results
    # Then a cell with time enough finishes it, to the dict's hash (not the default 2 s of
    # wall time: on a loaded CI machine the rest of the dict took longer once)
    monkeypatch.setenv("NBTRACK_HASH_SECONDS", "120")
    assert rehash(hasher, ns) == hash_value(dict(data))


def test_a_large_dict_changed_by_another_thread_while_hashed_ends_with_its_hash():
    # Given a large dict that another thread keeps growing, shrinking and updating
    data = table()
    ns = {"data": data}
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    stop = threading.Event()

    def churn() -> None:
        i = 0
        while not stop.is_set():  # about N + 5,000 entries, holes and resizes included
            i += 1
            data[f"t{i % 10_000}"] = (i, 0.5)
            data.pop(f"t{(i + 5_000) % 10_000}", None)
            data[f"k{i % N}"] = (i, -0.0)

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        # When cells hash it meanwhile
        for _ in range(20):
            hasher.hash_namespace(ns, {"data"})
    finally:
        stop.set()
        worker.join()
    # Then nothing breaks, and once it is still its hash is its content's
    assert rehash(hasher, ns) == hash_value(dict(data))


def test_a_cell_that_only_reads_a_large_dict_does_not_read_its_table():
    # Given a large dict of plain values, hashed and then updated once
    data = table()
    ns = {"data": data}
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    data["k1"] = (1, 0.25)
    rehash(hasher, ns)
    assert hasher.chunks.scanned == len(data)
    # When a cell only reads it
    _ = data["k2"], len(data), list(data.items())[:3]
    # Then its table is not read again, and the hash stays its content's
    assert rehash(hasher, ns) == hash_value(dict(data))
    assert hasher.chunks.scanned == 0
    # and the next change is read, entry for entry
    data["k3"] = (3, -0.0)
    assert rehash(hasher, ns) == hash_value(dict(data))
    assert hasher.chunks.scanned == len(data) and hasher.chunks.digested == 1


def test_a_large_dict_holding_a_mutable_value_is_read_every_cell():
    data: dict[str, object] = dict(table())
    inner = [1]
    data["k4"] = inner
    ns = {"data": data}
    hasher = StateHasher()
    first = hasher.hash_namespace(ns, None)["data"]
    inner.append(2)  # the dict's version tag does not move
    assert rehash(hasher, ns) != first
    assert hasher.chunks.scanned == len(data)
    assert rehash(hasher, ns) == hash_value(dict(data))


def test_a_volatile_attribute_is_left_out_of_its_objects_hash(monkeypatch) -> None:
    from nbtrack.capture.canonical import encoder

    class Model:
        def __init__(self, scratch: object) -> None:
            self.coef = [1.0, 2.0]
            self.scratch = scratch

    class Sub(Model):
        pass

    key = f"{Model.__module__}.{Model.__qualname__}"
    monkeypatch.setitem(encoder.VOLATILE, key, frozenset({"scratch"}))
    assert hash_value(Sub("garbage")) == hash_value(Sub("other bytes"))
    changed = Sub("garbage")
    changed.coef[0] = 3.0
    assert hash_value(changed) != hash_value(Sub("garbage"))
