"""What a statsmodels result computed when read (its ``cache_readonly`` attributes, kept in its
``_cache``) is not state: reading a result keeps its hash, and a list of results holding it is
not hashed again; what the user sets (``cache_writable``) is state."""

from __future__ import annotations

import pytest

from nbtrack.capture.hashing import StateHasher, cell_names, hash_value

np = pytest.importorskip("numpy")
sm = pytest.importorskip("statsmodels.api")
decorators = pytest.importorskip("pandas.util._decorators")


def fit() -> object:
    rng = np.random.default_rng(0)
    x = sm.add_constant(np.arange(30.0))
    y = 2 * x[:, 1] + rng.normal(size=30)
    return sm.OLS(y, x).fit()


def test_reading_a_result_keeps_its_hash_setting_one_changes_it():
    res, same = fit(), fit()
    # a writable cached attribute (cache_writable: OLS's scale) is state, computed or set: the
    # first read of one that computes it changes the hash
    assert res.scale == same.scale
    before = hash_value(res)
    assert not before.startswith("unhashable")
    res.rsquared, res.bse, res.pvalues, res.resid, res.llf, res.conf_int(), res.f_pvalue
    # (not res.summary(), which sets attributes of the result and its model: that is state)
    assert res._results._cache  # it did compute and keep them
    assert hash_value(res) == before == hash_value(same)
    res.scale = 4.0  # the user's value
    assert hash_value(res) != before


def test_a_list_of_results_is_not_hashed_again_when_one_is_read():
    ns: dict[str, object] = {"__name__": "__main__", "res": fit()}
    ns["results"] = [ns["res"], fit()]
    assert ns["res"].scale > 0  # type: ignore[attr-defined]
    hasher = StateHasher()
    first = dict(hasher.hash_namespace(ns, None))
    code = "r2 = res.rsquared"
    exec(code, ns)
    touched, rebound = cell_names(code)
    out = hasher.hash_namespace(ns, touched, rebound=rebound)
    assert sorted(hasher.hashed_names) == ["r2", "res"]
    assert out["res"] == first["res"] and out["results"] == first["results"]
    code = "res.params[0] = 0.0"  # a write into the result is seen through the list too
    exec(code, ns)
    out = hasher.hash_namespace(ns, cell_names(code)[0])
    assert out["res"] != first["res"] and out["results"] != first["results"]
    assert out["results"] == hash_value(ns["results"])


class Memo:
    """A class using pandas' ``cache_readonly``, as statsmodels did before 0.15."""

    def __init__(self, values: list[float]) -> None:
        self.values = values

    @decorators.cache_readonly
    def total(self) -> float:
        return sum(self.values)


def test_pandas_cache_readonly_values_are_not_state():
    m = Memo([1.0, 2.0])
    before = hash_value(m)
    assert m.total == 3.0 and m._cache == {"total": 3.0}
    assert hash_value(m) == before
    m.values.append(4.0)
    assert hash_value(m) != before


def test_a_notebook_class_with_cached_attributes():
    ns = {"__name__": "__main__", "cache_readonly": decorators.cache_readonly}
    code = "class Nb:\n    def __init__(self):\n        self.v = [1, 2]\n    @cache_readonly\n    def total(self):\n        return sum(self.v)\n"
    exec(code, ns)
    nb = ns["Nb"]()
    before = hash_value(nb)
    assert nb.total == 3 and hash_value(nb) == before
    exec(code, ns)  # redefined, as notebooks do: the new class is another type
    again = ns["Nb"]()
    assert again.total == 3 and hash_value(again) == hash_value(ns["Nb"]())
