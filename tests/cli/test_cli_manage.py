"""The management commands as a user runs them: experiment, rename/tag/notes/move,
delete/restore/gc, nested runs in ``runs``, compare, export-runs/import-runs."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from nbtrack.store import Store
from tests.conftest import run_cli
from tests.lifecycle.test_manage import age_blobs, make_run

pytestmark = pytest.mark.slow  # a subprocess per command, as tests/test_cli.py


def ok(*args: str, **kw: Any) -> str:
    res = run_cli(*args, **kw)
    assert res.returncode == 0, res.stderr
    return str(res.stdout)


def listed(*args: str) -> list[dict[str, Any]]:
    return list(json.loads(ok("runs", "--format", "json", *args))["runs"])


def test_experiment_commands(store_dir: Path) -> None:
    make_run(Store(str(store_dir)), experiment="churn")
    ok("experiment", "create", "fraud")
    assert run_cli("experiment", "create", "fraud").returncode == 2
    ok("experiment", "rename", "churn", "churn-v2")
    table = ok("experiments")
    assert "churn-v2" in table and "fraud" in table and "churn " not in table
    ok("experiment", "delete", "churn-v2")
    assert listed() == []
    rows = json.loads(ok("experiment", "list", "--deleted", "--json"))["experiments"]
    assert [(e["name"], e["runs"], e["deleted_at"] is not None) for e in rows] == [
        ("churn-v2", 1, True),
        ("fraud", 0, False),
    ]
    ok("experiment", "restore", "churn-v2")
    assert [r["experiment"] for r in listed()] == ["churn-v2"]


def test_rename_tag_notes_and_move(store_dir: Path, tmp_path: Path) -> None:
    rid = make_run(Store(str(store_dir)), tags={"stale": "x"})
    ok("experiment", "create", "other")
    ok("rename", rid[:6], "tuned")
    ok("tag", rid, "owner=ana", "stage=prod", "--delete", "stale")
    notes = tmp_path / "notes.md"
    notes.write_text("# Why\nbetter *recall*\n")
    ok("notes", rid, "-f", str(notes))
    assert ok("notes", rid) == "# Why\nbetter *recall*\n"
    ok("move", rid, "--to", "other")
    shown = json.loads(ok("show", rid, "--json"))
    assert (shown["name"], shown["experiment"], shown["notes"]) == (
        "tuned",
        "other",
        "# Why\nbetter *recall*\n",
    )
    assert shown["tags"] == {"owner": "ana", "stage": "prod"}
    res = run_cli("move", rid, "--to", "othr")
    assert res.returncode == 2 and "did you mean 'other'" in res.stderr


def test_delete_restore_and_bulk_selection(store_dir: Path) -> None:
    st = Store(str(store_dir))
    old = [make_run(st, start=86400.0 * d, params={"model": "rf"}) for d in (1, 2, 3)]
    new = make_run(st, params={"model": "lr"})
    ok("delete", old[0])
    assert [r["id"] for r in listed()] == [new, old[2], old[1]]
    deleted = [r for r in listed("--deleted") if r["deleted"]]
    assert [r["id"] for r in deleted] == [old[0]]
    assert "(deleted)" in ok("runs", "--deleted")
    ok("restore", old[0][:8])

    dry = run_cli("delete", "--before", "1970-01-10", "--max-runs", "2", "--dry-run")
    assert dry.stdout.split() == old[:2] and "2 run(s) would be deleted" in dry.stderr
    assert len(listed()) == 4
    assert ok("delete", "--before", "1970-01-10", "--max-runs", "2").split() == old[:2]
    assert ok("delete", "--filter", "params.model = 'rf'").split() == [old[2]]
    assert [r["id"] for r in listed()] == [new]
    assert ok("restore", "--experiment", "exp").split() == [
        old[2],
        old[1],
        old[0],
    ]  # latest deleted first
    res = run_cli("delete")
    assert res.returncode == 2 and "name the runs, or select them" in res.stderr


def test_gc_purges_deleted_runs_and_reports_what_it_freed(store_dir: Path) -> None:
    st = Store(str(store_dir))
    keep = make_run(st, artifacts={"shared.bin": b"s" * 100}, cells=["a = 1"])
    gone = make_run(st, artifacts={"shared.bin": b"s" * 100, "own.bin": b"o" * 50}, cells=["b = 2"])
    ok("delete", gone)
    age_blobs(st)
    assert "would free 1 run(s)" in ok("gc", "--dry-run")
    assert json.loads(ok("gc", "--older-than", "1d", "--json"))["runs"] == []  # deleted just now
    report = json.loads(ok("gc", "--json"))
    assert report["runs"] == [gone] and (report["blobs"], report["bytes"]) == (1, 50)
    assert report["rows"]["runs"] == 1 and report["rows"]["cells"] == 1
    assert [r["id"] for r in listed("--deleted")] == [keep]
    assert json.loads(ok("show", keep, "--json"))["artifacts"][0]["size"] == 100


def test_runs_lists_children_under_their_parent(store_dir: Path) -> None:
    st = Store(str(store_dir))
    parent = make_run(st, name="sweep", start=1000.0)
    kids = [make_run(st, name=f"lr-{i}", parent=parent, start=1001.0 + i) for i in range(2)]
    make_run(st, name="later", start=2000.0)
    lines = ok("runs").splitlines()
    names = [line.split("  ")[1] for line in lines[1:]]
    assert names == ["later", "sweep", "└ lr-1", "└ lr-0"]
    records = {r["name"]: r for r in listed()}
    assert records["lr-0"]["parent_run_id"] == parent and records["sweep"]["parent_run_id"] is None
    assert {r["id"] for r in listed("--filter", f"attributes.parent_run_id = '{parent}'")} == set(
        kids
    )


def test_compare_shows_what_differs_and_the_code_diff(store_dir: Path) -> None:
    st = Store(str(store_dir))
    a = make_run(
        st,
        name="a",
        params={"lr": "0.1", "seed": "7"},
        metrics={"acc": [0.5, 0.8]},
        cells=["import numpy", "lr = 0.1"],
    )
    b = make_run(
        st,
        name="b",
        params={"lr": "0.2", "seed": "7"},
        metrics={"acc": [0.6, 0.7]},
        cells=["import numpy", "lr = 0.2", "print(lr)"],
    )
    text = ok("compare", a[:8], b[:8])
    assert "lr" in text and "seed" not in text
    assert "0.5 / 0.8 / 0.8" in text and "0.6 / 0.7 / 0.7" in text
    assert (
        "-lr = 0.1" in text
        and "+lr = 0.2" in text
        and "+print(lr)" in text
        and "1 changed, 1 added" in text
    )
    assert "seed" in ok("compare", a, b, "--all")
    data = json.loads(ok("compare", a, b, "--json"))
    assert [c["kind"] for c in data["code"][0]["cells"]] == ["same", "changed", "added"]
    assert run_cli("compare", a).returncode == 2


def test_export_runs_and_import_runs_between_stores(store_dir: Path, tmp_path: Path) -> None:
    st = Store(str(store_dir))
    parent = make_run(
        st,
        experiment="sweep",
        params={"lr": "0.1"},
        metrics={"loss": [1.0, 0.4]},
        cells=["import numpy", "x = 1"],
        artifacts={"m.bin": b"weights"},
        env=b'{"python": "3"}',
        snapshot={"util.py": b"u = 1"},
        notebook=b"{}",
    )
    child = make_run(
        st, experiment="sweep", parent=parent, metrics={"loss": [0.9]}, cells=["y = 2"]
    )
    make_run(st, experiment="other")
    bundle = tmp_path / "sweep.zip"
    ok("export-runs", "--experiment", "sweep", "-o", str(bundle))

    target = tmp_path / "target"
    env = {"NBTRACK_STORE": str(target)}
    imported = ok("import-runs", str(bundle), env=env).split()
    assert sorted(imported) == sorted([parent, child])
    for rid in (parent, child):
        assert ok("show", rid, "--json", env=env) == ok("show", rid, "--json")
    again = run_cli("import-runs", str(bundle), env=env)
    assert again.stdout == "" and "imported 0 run(s), skipped 2" in again.stderr
    assert len(listed_in(env)) == 2

    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(bundle) as zin, zipfile.ZipFile(broken, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(
                item.filename, data + b"tampered" if item.filename.startswith("blobs/") else data
            )
    res = run_cli("import-runs", str(broken), "--store", str(tmp_path / "third"))
    assert res.returncode == 2 and "is corrupt" in res.stderr


def listed_in(env: dict[str, str]) -> list[dict[str, Any]]:
    return list(json.loads(ok("runs", "--format", "json", env=env))["runs"])


def test_commands_that_record_create_the_store_others_never_do(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    res = run_cli("experiments", "--store", str(fresh))
    assert (
        res.returncode == 2 and f"no nbtrack store at {fresh}" in res.stderr and not fresh.exists()
    )
    ok("--store", str(fresh), "experiment", "create", "fraud")
    assert (fresh / "nbtrack.db").is_file() and "fraud" in ok("experiments", "--store", str(fresh))

    source = tmp_path / "source"
    rid = make_run(Store(str(source)), cells=["x = 1"])
    bundle = tmp_path / "runs.zip"
    ok("export-runs", "--store", str(source), "-o", str(bundle))
    target = tmp_path / "target"
    target.mkdir()  # an empty folder becomes a store when runs are imported into it
    assert ok("import-runs", str(bundle), "--store", str(target)).split() == [rid]
    assert [r["id"] for r in listed("--store", str(target))] == [rid]
