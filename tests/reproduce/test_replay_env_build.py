"""Recreated environments on their own: what the index lacks is reported, not fatal; a built
environment is found again by its content hash; a failed build leaves nothing to reuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nbtrack.reproduce.environment import EnvironmentBuildError, ensure_environment
from nbtrack.reproduce.requirements import EnvironmentPlan

pytestmark = pytest.mark.slow


def plan(*requirements: str) -> EnvironmentPlan:
    import os
    import platform

    import nbtrack

    return EnvironmentPlan(
        python=platform.python_version(),
        requirements=list(requirements),
        imported={},
        nbtrack_source=os.path.dirname(nbtrack.__file__),
    )


def test_a_version_missing_from_the_index_is_reported_and_the_rest_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTRACK_ENV_CACHE", str(tmp_path / "envs"))
    events: list[dict[str, Any]] = []
    # Given a plan asking for a release of idna that was never published, and six
    wanted = plan("idna==0.0.0.999", "six==1.17.0")
    # When the environment is built
    built = ensure_environment(wanted, lambda kind, e: events.append(e))
    # Then six is in it, idna is reported as not on the index, and the build said so
    assert built.installed.get("six") == "1.17.0" and "idna" not in built.installed
    assert [(u.name, u.recorded) for u in built.unmatched] == [("idna", "0.0.0.999")]
    assert "not on the package index" in built.unmatched[0].reason
    assert not built.cached and events[-1]["phase"] == "ready"
    assert any(e["text"] == "installing six==1.17.0" for e in events)
    # And asked again, it comes from the cache at once, with the same report
    again = ensure_environment(wanted)
    assert again.cached and again.path == built.path == tmp_path / "envs" / wanted.key
    assert [u.name for u in again.unmatched] == ["idna"]
    assert (again.path / "bin" / "python").exists()


def test_a_failed_build_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTRACK_ENV_CACHE", str(tmp_path / "envs"))
    with pytest.raises(
        EnvironmentBuildError,
        match="none of the packages to install is on the package index: idna 0.0.0.999",
    ):
        ensure_environment(plan("idna==0.0.0.999"))
    assert list((tmp_path / "envs").iterdir()) == []


def test_recorded_versions_that_conflict_here_are_loosened_dependencies_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NBTRACK_ENV_CACHE", str(tmp_path / "envs"))
    # Given the cells' requests pinned with a charset-normalizer that requests 2.32 refuses
    wanted = plan("charset-normalizer==1.4.1", "requests==2.32.3")
    wanted.imported = {"requests": "requests"}
    # When the environment is built
    built = ensure_environment(wanted)
    # Then requests keeps its recorded version and the dependency is reported as loosened
    assert built.installed["requests"] == "2.32.3"
    assert built.installed["charset-normalizer"] != "1.4.1"
    assert [(u.name, u.recorded) for u in built.unmatched] == [("charset-normalizer", "1.4.1")]
    assert "conflicts" in built.unmatched[0].reason
