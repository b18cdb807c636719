"""Which distributions a run's cells import (nbtrack.reproduce.imports)."""

from __future__ import annotations

from importlib import metadata

from nbtrack.reproduce.imports import distributions_of, imported_distributions


def test_distributions_of_agrees_with_importlib_metadata() -> None:
    """Reading only the matching distributions' names finds, for every top-level module this
    interpreter's metadata knows, the same distributions as packages_distributions()."""
    everything = metadata.packages_distributions()
    mine = distributions_of(set(everything))
    assert {m: sorted(d) for m, d in mine.items()} == {m: sorted(d) for m, d in everything.items()}
    assert distributions_of(set()) == {}
    assert distributions_of({"no_such_module_anywhere"}) == {}


def test_imported_distributions_maps_modules_to_recorded_distributions() -> None:
    sources = ["import numpy as np\nimport statsmodels.formula.api as smf", "%load_ext nbtrack"]
    recorded = {"numpy": "1", "statsmodels": "1", "pandas": "1", "nbtrack": "0"}
    assert imported_distributions(sources, recorded) == {
        "numpy": "numpy",
        "statsmodels": "statsmodels",
    }
    # a module not installed here maps to the recorded distribution of the same name
    assert imported_distributions(["import gone_pkg"], {"Gone.Pkg": "2"}) == {
        "gone-pkg": "gone_pkg"
    }
    assert imported_distributions(["import gone_pkg"], {"other": "2"}) == {}
