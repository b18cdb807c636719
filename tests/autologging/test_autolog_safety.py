"""autolog never changes what a fit does: ``autolog(disable=True)`` puts the libraries' own
functions back, and a store that cannot be written is one warning while ``fit`` returns what it
returns unpatched."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import nbtrack
from nbtrack.autologging import INTEGRATIONS, _finder

sklearn = pytest.importorskip("sklearn")


def originals() -> dict[str, object]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection._search import BaseSearchCV
    from sklearn.pipeline import Pipeline

    out = {
        "LogisticRegression.fit": LogisticRegression.__dict__["fit"],
        "BaseSearchCV.fit": BaseSearchCV.__dict__["fit"],
        "Pipeline.fit": Pipeline.__dict__["fit"],
        "Pipeline.fit_transform": Pipeline.__dict__["fit_transform"],
    }
    for lib, module in (("xgboost", "xgboost"), ("lightgbm", "lightgbm")):
        if lib in sys.modules or _importable(lib):
            mod = __import__(module)
            out[f"{lib}.train"] = mod.train
            fit_owner = mod.XGBModel if lib == "xgboost" else mod.LGBMModel
            out[f"{lib}.{fit_owner.__name__}.fit"] = fit_owner.__dict__["fit"]
    return out


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_disable_restores_the_libraries_own_functions(store_dir: Path) -> None:
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    before = originals()
    nbtrack.autolog()
    try:
        during = originals()
        assert all(during[k] is not before[k] for k in before), "every fit is patched"
        assert _finder in sys.meta_path
        X = np.random.RandomState(0).rand(50, 3)
        y = (X[:, 0] > 0.5).astype(int)
        with nbtrack.start_run(store=store_dir) as run:
            model = LogisticRegression().fit(X, y)
        assert nbtrack.get_run(run.id, store=nbtrack.open_store(store_dir))["params"]["C"] == "1.0"
        nbtrack.autolog()  # twice is the same as once
        assert originals() == during
    finally:
        nbtrack.autolog(disable=True)
    after = originals()
    assert all(after[k] is before[k] for k in before), "every original is back"
    assert _finder not in sys.meta_path
    assert (
        "fit" not in type(model).__dict__
        or type(model).__dict__["fit"] is before["LogisticRegression.fit"]
    )


def test_unknown_flavor_is_a_clear_error() -> None:
    with pytest.raises(nbtrack.ValidationError, match="unknown flavor 'pytorch'"):
        nbtrack.autolog(exclude_flavors=["pytorch"])
    assert set(INTEGRATIONS) == {"sklearn", "xgboost", "lightgbm", "keras"}


def test_a_store_that_cannot_be_written_is_one_warning_and_fit_works(tmp_path, start_kernel):
    store_dir = tmp_path / "store"
    k = start_kernel(NBTRACK_STORE=str(store_dir))
    k.ok("%load_ext nbtrack")
    k.ok(
        "import numpy as np\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.model_selection import GridSearchCV\n"
        "X = np.random.RandomState(0).rand(200, 4); y = (X[:, 0] > 0.5).astype(int)\n"
        "plain = LogisticRegression().fit(X, y).predict_proba(X)\n"
        "nbtrack.autolog()"
    )
    # the store goes away for real: its directory moved and a plain file put in its place
    store_dir.rename(tmp_path / "store.away")
    store_dir.write_text("not a store")
    outs = [
        k.run("est = LogisticRegression()\nreturned = est.fit(X, y)"),
        k.run("search = GridSearchCV(LogisticRegression(), {'C': [0.1, 1.0]}, cv=2).fit(X, y)"),
        k.run("print(returned is est, bool((est.predict_proba(X) == plain).all()))"),
    ]
    assert [o["status"] for o in outs] == ["ok", "ok", "ok"], outs
    assert outs[2]["stdout"].strip() == "True True"
    warnings = [ln for o in outs for ln in o["stderr"].splitlines() if "NbtrackWarning" in ln]
    assert len(warnings) == 1, warnings  # one line for the outage, not one per fit or write
    assert store_dir.read_text() == "not a store"
    # the user's own error still reaches them
    out = k.run("LogisticRegression().fit(X, y[:5])")
    assert out["error"] == "ValueError"


def test_excluded_flavors_are_left_as_they_are() -> None:
    from sklearn.linear_model import LogisticRegression

    plain = LogisticRegression.__dict__["fit"]
    nbtrack.autolog(exclude_flavors=["sklearn"])
    try:
        assert LogisticRegression.__dict__["fit"] is plain
        nbtrack.autolog()
        assert LogisticRegression.__dict__["fit"] is not plain
        nbtrack.autolog(disable=True, exclude_flavors=["sklearn"])  # sklearn stays on
        assert LogisticRegression.__dict__["fit"] is not plain
    finally:
        nbtrack.autolog(disable=True)
    assert LogisticRegression.__dict__["fit"] is plain
