"""What a replay says about the environment and about why a cell diverged: a one-line summary
that names the packages the run's cells import, and likely causes read from the cell's code."""

from __future__ import annotations

from nbtrack.capture.environment import diff_environments, format_environment_diff
from nbtrack.reproduce.diagnose import likely_causes
from nbtrack.reproduce.drift import summarise_environment
from nbtrack.reproduce.imports import imported_distributions, imported_modules


def causes_of(source: str) -> list[str]:
    return likely_causes([{"source": source}], 0, {}, {}, set())


def test_ninety_differing_packages_are_one_line_naming_the_imported_one_first() -> None:
    # Given a recording and a replay environment where 91 packages differ, numpy among them
    old = {"packages": {f"dep{i}": "1.0" for i in range(90)} | {"numpy": "2.4.6"}}
    new = {"packages": {f"dep{i}": "2.0" for i in range(90)} | {"numpy": "2.3.0"}}
    diff = diff_environments(old, new)
    # When it is summarised for cells that import numpy
    imported = imported_distributions(["import numpy as np\nx = np.ones(3)"], old["packages"])
    lines = summarise_environment(diff, set(imported))
    # Then one line counts them and names numpy; the rest is behind --verbose
    assert lines == [
        "91 packages differ, 1 imported by the run's cells: numpy 2.4.6 → 2.3.0; 90 others: --verbose"
    ]
    assert len(format_environment_diff(diff)) == 91


def test_the_summary_says_python_and_absent_packages() -> None:
    old = {
        "python": {"version": "3.10.1", "implementation": "CPython"},
        "packages": {"idna": "3.6"},
    }
    new = {"python": {"version": "3.11.2", "implementation": "CPython"}, "packages": {}}
    lines = summarise_environment(diff_environments(old, new), {"idna"})
    assert lines == [
        "1 package differs, 1 imported by the run's cells: idna 3.6 → absent",
        "python: CPython 3.10.1 -> CPython 3.11.2",
    ]


def test_imports_are_read_from_cells_with_magics_and_map_to_distributions() -> None:
    sources = ["%load_ext nbtrack\nimport os, json", "from sklearn.linear_model import Ridge\n!ls"]
    assert imported_modules(sources) == {"nbtrack", "sklearn"}
    found = imported_distributions(sources, {"scikit-learn": "1.5.0", "numpy": "2.0"})
    assert found == {"scikit-learn": "sklearn"}


def test_reading_the_tracking_store_is_named() -> None:
    assert (
        "reads the tracking store" in causes_of("df = nbtrack.search_runs('metrics.acc > 0.9')")[0]
    )
    assert (
        "reads the tracking store"
        in causes_of("from nbtrack import get_run\nr = get_run('abc')")[0]
    )
    assert "reads the tracking store" in causes_of("files = os.listdir('.nbtrack')")[0]
    assert causes_of("def get_run(x):\n    return x\ny = get_run(1)") == []


def test_reading_the_network_or_the_clock_is_named() -> None:
    for source in [
        "t0 = time.time()",
        "stamp = datetime.now()",
        "r = requests.get(url)",
        "from urllib.request import urlopen\nbody = urlopen(u).read()",
        "df = pd.read_csv('https://example.org/data.csv')",
    ]:
        assert causes_of(source) == ["reads the network or the clock"], source
    assert causes_of("total = sum(range(10))") == []


def test_a_recreated_environment_holds_what_the_cells_import_at_recorded_versions() -> None:
    from nbtrack.capture.environment import capture_environment
    from nbtrack.reproduce.requirements import plan_environment

    recorded = capture_environment()
    recorded["packages"]["idna"] = "3.6"
    recorded["python"]["version"] = "3.9.0"
    # Cells that import idna and only record: idna at its recorded version, ipykernel, the
    # recorder's few libraries; not pandas, not the whole recorded environment
    plan = plan_environment(recorded, ["import idna", "%%track\nnbtrack.log_metric('a', 1)"])
    assert "idna==3.6" in plan.requirements
    assert any(r.startswith("ipykernel==") for r in plan.requirements)
    assert not any(r.startswith("pandas") for r in plan.requirements)
    assert len(plan.skipped) > len(plan.requirements)
    unmatched = {u.name: u for u in plan.unmatched}
    assert "the current python3" in unmatched["python"].reason
    assert unmatched["python"].recorded == "3.9.0"
    assert "the current nbtrack" in unmatched["nbtrack"].reason
    # A cell that reads the store through nbtrack needs nbtrack's query stack too
    reading = plan_environment(recorded, ["import idna", "df = nbtrack.search_runs()"])
    assert any(r.startswith("pandas==") for r in reading.requirements)
    assert reading.key != plan.key
