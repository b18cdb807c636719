"""``run_view()`` of a failed run carries its failure for the banner at the top of the view."""

from __future__ import annotations

from pathlib import Path

import nbtrack
from nbtrack.widgets import run_view

STATIC = Path(nbtrack.__file__).parent / "widgets" / "static"


def test_run_view_of_a_failed_run_has_the_failure_for_its_banner(tmp_path: Path) -> None:
    store = tmp_path / "s"
    try:
        with nbtrack.start_run(name="bad", store=store, log_system_metrics=False) as run:
            raise TypeError("unsupported operand")
    except TypeError:
        pass
    view = run_view(run.id, store=store)
    assert view.status == "ready" and view.run["status"] == "failed"
    assert view.failure == {
        "type": "TypeError",
        "message": "unsupported operand",
        "line": 'raise TypeError("unsupported operand")',
        "lineno": view.failure["lineno"],
        "execution_count": None,
    }
    assert isinstance(view.failure["lineno"], int)
    assert view.get_state()["failure"] == view.failure  # synced to the front end


def test_run_view_of_a_finished_run_has_no_banner(tmp_path: Path) -> None:
    store = tmp_path / "s"
    with nbtrack.start_run(name="good", store=store, log_system_metrics=False) as run:
        pass
    assert run_view(run.id, store=store).failure is None


def test_the_built_front_end_draws_the_failure_banner() -> None:
    """The bundled view (built from widgets-js/src/run.js) renders ``failure`` as a banner."""
    views = (STATIC / "views.js").read_text()
    assert "nbt-failure" in views and 'get("failure")' in views.replace("'", '"')
    assert ".nbt-failure" in (STATIC / "widgets.css").read_text()
