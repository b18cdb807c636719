"""Replay in the recorded environment: a virtual environment recreated with the run's recorded
package versions (pip from the package index), cached by content, reported in the verdict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nbtrack.capture.environment import environment_bytes
from nbtrack.query.runs import environment_of
from nbtrack.store import open_store
from tests.conftest import run_cli

# a cold environment build installs dozens of packages from the index: allow for a slow one
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# idna: small, pure Python, on the index in many versions; the recording says this one while
# this venv has another (3.20 when this was written).
RECORDED_IDNA = "3.6"


@pytest.fixture
def env_cache(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache of recreated environments that outlives the test run (pytest's cache dir), so
    only the first run pays for building one; the user's cache is not touched."""
    path = Path(request.config.cache.mkdir("nbtrack-envs"))
    monkeypatch.setenv("NBTRACK_ENV_CACHE", str(path))
    return path


def latest_run_id(name: str) -> str:
    listed = json.loads(run_cli("runs", "--format", "json").stdout)["runs"]
    return next(r["id"] for r in listed if r["name"] == name)


def record_as_if_with(store_dir: Path, run_id: str, **versions: str) -> None:
    """Rewrite the run's recorded environment (through the store) as if it had ``versions``."""
    store = open_store(store_dir)
    (row,) = store.run_summaries([run_id])
    env = environment_of(store, row["env_hash"])
    env["packages"].update(versions)
    store.update_run(run_id, env_hash=store.put_blob(environment_bytes(env)))


def test_a_run_replays_in_its_recorded_package_versions_and_the_cache_reuses_the_env(
    kernel: Any, store_dir: Path, tmp_path: Path, env_cache: Path
) -> None:
    # Given a run whose cells use idna, recorded (as far as the store says) with idna 3.6
    current = kernel.ok("import idna\nprint(idna.__version__)")["stdout"].strip()
    assert current != RECORDED_IDNA, "this venv must have another idna than the recorded one"
    kernel.ok("%%track --name uses-idna\nv = idna.__version__\nprint(v)")
    run_id = latest_run_id("uses-idna")
    record_as_if_with(store_dir, run_id, idna=RECORDED_IDNA)

    # When it is replayed with --env recorded
    res = run_cli("replay", run_id, "--env", "recorded", "--json", cwd=tmp_path)

    # Then the replay ran in a recreated venv holding the recorded idna, and says so
    assert res.returncode in (0, 1), res.stderr
    report = json.loads(res.stdout)
    env = report["environment"]
    assert env["mode"] == "recorded" and env["python"]
    assert env["installed"]["idna"] == RECORDED_IDNA
    assert env["imported"] == {"idna": RECORDED_IDNA}
    assert {"name", "recorded", "reason"} <= set(env["unmatched"][0])
    assert any(u["name"] == "nbtrack" for u in env["unmatched"])
    assert len(env["skipped"]) > 10, "packages the cells do not import are not installed"
    # progress: package installs when built now (the first run), the cache otherwise
    built_now = "] installing idna==3.6" in res.stderr
    assert built_now is not env["cached"], res.stderr
    assert "using the environment cached at" in res.stderr or built_now
    # ... the kernel itself saw the recorded version: the module and v differ from the run's
    assert report["reproduced"] is False
    assert set(report["divergences"][0]["variables"]) <= {"idna", "v"}
    store = open_store(store_dir)
    replay_id = report["replay_run_id"]
    (replayed,) = store.run_summaries([replay_id])
    assert environment_of(store, replayed["env_hash"])["packages"]["idna"] == RECORDED_IDNA

    # When that replay (a run truly made with idna 3.6) is replayed in its recorded environment
    again = run_cli("replay", replay_id, "--env", "recorded", cwd=tmp_path)

    # Then the environment comes from the cache and every cell reproduces
    assert again.returncode == 0, again.stdout + again.stderr
    assert "using the environment cached at" in again.stderr
    assert (
        f"environment: recorded, Python {env['python']} (cached); the run's packages at their "
        f"recorded versions: idna {RECORDED_IDNA}" in again.stdout
    )
    assert "not matched: nbtrack" in again.stdout

    # And in the current environment it diverges, naming the package and both versions
    here = run_cli("replay", replay_id, cwd=tmp_path)
    assert here.returncode == 1
    assert f"imported by the run's cells: idna {RECORDED_IDNA} → {current}; " in here.stderr, (
        here.stderr
    )
    assert f"likely cause: uses idna, which changed version: {RECORDED_IDNA} -> {current}" in (
        here.stdout
    )
    built = [p for p in env_cache.iterdir() if not p.name.startswith(".")]
    assert Path(env["path"]) in built
    assert not [p for p in env_cache.iterdir() if p.name.startswith(".building-")]
