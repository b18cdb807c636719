"""Variables a cell cannot have touched keep their hash, whatever their size; aliases do not."""

from __future__ import annotations

import textwrap

from nbtrack.capture.hashing import StateHasher, cell_names, hash_value, names_touched


def cell(ns: dict[str, object], hasher: StateHasher, code: str) -> dict[str, str]:
    exec(textwrap.dedent(code), ns)
    return hasher.hash_namespace(ns, names_touched(code))


def namespace(n: int = 1000) -> dict[str, object]:
    ns: dict[str, object] = {"__name__": "__main__"}
    for i in range(n):
        ns[f"v{i}"] = [i] if i % 2 else {"k": i}
    return ns


def test_untouched_small_variables_are_not_hashed_again():
    ns = namespace()
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    assert hasher.rehashed == 1000
    out = cell(ns, hasher, "x = 1")
    assert hasher.rehashed == 1 and hasher.hashed_names == ["x"]
    assert out["v1"] == hash_value([1])


def test_alias_by_name_nested_and_containing_are_all_seen():
    ns = namespace(10)
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    before = dict(hasher.hash_namespace(ns, set()))
    out = cell(ns, hasher, "alias = v1\nalias.append(5)")  # b = a; b.append(...)
    assert out["v1"] == hash_value([1, 5]) != before["v1"]
    out = cell(ns, hasher, "holder = [v3]")
    out = cell(ns, hasher, "holder[0].append(7)")  # through a container holding it
    assert out["v3"] == hash_value([3, 7])
    out = cell(ns, hasher, "outer = {'inner': v2}")
    out = cell(ns, hasher, "v2['k'] = 99")  # the container holding a touched object
    assert out["outer"] == hash_value({"inner": {"k": 99}})


def test_a_notebook_function_mutating_a_global_counts_as_touching_it():
    ns = namespace(10)
    hasher = StateHasher()
    cell(ns, hasher, "def bump():\n    v1.append(0)\n")
    hasher.hash_namespace(ns, None)
    out = cell(ns, hasher, "bump()")
    assert out["v1"] == hash_value([1, 0])
    out = cell(ns, hasher, "ops = [bump]")
    out = cell(ns, hasher, "ops[0]()")
    assert out["v1"] == hash_value([1, 0, 0])


def test_a_method_mutating_its_instance_through_another_name():
    ns: dict[str, object] = {"__name__": "__main__"}
    hasher = StateHasher()
    cell(
        ns,
        hasher,
        "class Acc:\n    def __init__(self):\n        self.items = []\n    def add(self, x):\n        self.items.append(x)\nacc = Acc()\nsame = acc\n",
    )
    hasher.hash_namespace(ns, None)
    out = cell(ns, hasher, "same.add(1)")
    assert out["acc"] == out["same"] == hash_value(ns["acc"])


def test_rebinding_is_seen_even_when_the_caller_says_untouched():
    ns = namespace(10)
    hasher = StateHasher()
    first = hasher.hash_namespace(ns, None)
    ns["v1"] = [100]
    assert hasher.hash_namespace(ns, set())["v1"] != first["v1"]
    del ns["v2"]
    ns["v0"] = {"k": 0}  # an equal value, another object
    out = hasher.hash_namespace(ns, set())
    assert "v2" not in out and out["v0"] == first["v0"]


def test_deleted_and_recreated_names_and_opaque_cells():
    ns = namespace(10)
    hasher = StateHasher()
    hasher.hash_namespace(ns, None)
    exec("globals()['v1'].append(9)", ns)
    assert names_touched("globals()['v1'].append(9)") is None
    assert hasher.hash_namespace(ns, None)["v1"] == hash_value([1, 9])


def rebind(ns: dict[str, object], hasher: StateHasher, code: str) -> dict[str, str]:
    """``cell``, with the names the cell rebinds passed on as the recorder does."""
    exec(textwrap.dedent(code), ns)
    touched, rebound = cell_names(code)
    return hasher.hash_namespace(ns, touched, rebound=rebound)


def test_what_a_rebound_name_held_is_not_touched_by_the_rebinding():
    ns: dict[str, object] = {"__name__": "__main__"}
    hasher = StateHasher()
    rebind(ns, hasher, "model = [1, 2]\nres = {'model': model}\nres2 = [model]")
    hasher.hash_namespace(ns, None)
    out = rebind(ns, hasher, "model = [3]\nres3 = {'model': model}")  # a refit
    assert sorted(hasher.hashed_names) == ["model", "res3"]
    assert out == {n: hash_value(ns[n]) for n in out}


def test_a_write_before_the_rebinding_is_still_seen():
    ns: dict[str, object] = {"__name__": "__main__"}
    hasher = StateHasher()
    rebind(ns, hasher, "model = [1, 2]\nres = {'model': model}")
    out = rebind(ns, hasher, "model.append(9)\nmodel = [3]")
    assert out["res"] == hash_value({"model": [1, 2, 9]})
    out = rebind(ns, hasher, "model = model + [4]")  # named on the right: not rebound
    assert hasher.hashed_names == ["model"]  # (it wrote nothing)
    out = rebind(ns, hasher, "res['model'].append(5)\nmodel = None")  # through another name
    assert out["res"] == hash_value({"model": [1, 2, 9, 5]})


def test_a_notebook_function_writing_the_old_object_before_the_rebinding_is_seen():
    ns: dict[str, object] = {"__name__": "__main__"}
    hasher = StateHasher()
    rebind(
        ns, hasher, "model = [1]\nres = [model]\ndef grow():\n    model.append(2)\n    return 0\n"
    )
    hasher.hash_namespace(ns, None)
    out = rebind(ns, hasher, "model = grow()")
    assert out["res"] == hash_value([[1, 2]])
    assert out == {n: hash_value(ns[n]) for n in out}
