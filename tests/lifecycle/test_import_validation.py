"""import-runs checks every row as the logging API does, names the bad row, never leaves a
half-imported store, redacts secrets, and streams its members (memory does not grow with
them); export-runs lists what it holds before it writes."""

from __future__ import annotations

import json
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_manage import count_rows, make_run

from nbtrack.errors import ValidationError
from nbtrack.lifecycle.transfer import export_runs, import_runs
from nbtrack.store import Store

Row = dict[str, Any]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(str(tmp_path / "source"))


def exported(store: Store, tmp_path: Path, **kw: Any) -> tuple[str, Path]:
    rid = make_run(
        store,
        params={"lr": "0.1"},
        tags={"t": "1"},
        metrics={"loss": [1.0, 0.5]},
        cells=["x = 1"],
        artifacts={"m.bin": b"weights"},
        snapshot={"util.py": b"u = 1"},
        **kw,
    )
    bundle = tmp_path / "good.zip"
    export_runs(bundle, [rid], store=store)
    return rid, bundle


def rewritten(src: Path, dst: Path, table: str, change: Callable[[list[Row]], list[Row]]) -> Path:
    """``src`` with the rows of ``table`` changed (the manifest's count follows)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        manifest = json.loads(zin.read("nbtrack-runs.json"))
        member = f"tables/{table}.jsonl"
        rows = change([json.loads(line) for line in zin.read(member).splitlines()])
        manifest["tables"][table] = len(rows)
        for item in zin.infolist():
            if item.filename == member:
                zout.writestr(member, "".join(json.dumps(r) + "\n" for r in rows))
            elif item.filename == "nbtrack-runs.json":
                zout.writestr(item.filename, json.dumps(manifest))
            else:
                zout.writestr(item, zin.read(item.filename))
    return dst


def edit(table: str, **values: Any) -> tuple[str, Callable[[list[Row]], list[Row]]]:
    return table, lambda rows: [{**rows[0], **values}, *rows[1:]]


@pytest.mark.parametrize(
    ("table_change", "message"),
    [
        (
            edit("runs", name="x\nimport os; os.system('touch /tmp/pwned')"),
            "runs.jsonl line 1 .*run name .* contains control characters",
        ),
        (edit("runs", id="not-hex-" + "0" * 24), "runs.jsonl line 1 .*run id must be 32 hex"),
        (edit("runs", status="exploded"), "status must be one of"),
        (edit("experiments", name="a\x1b[31mred"), "experiment name .* control characters"),
        (edit("params", value="v" * 1_000_000), "params.jsonl line 1 .*over the limit of 8,000"),
        (edit("params", key="<img src=x onerror=alert(1)>"), "param name .* has characters"),
        (edit("tags", key="../escape"), "tag name .* '..' segment"),
        (edit("metrics", key="a\nb"), "metrics.jsonl line 1 .*metric name"),
        (edit("metrics", step=2**70), "64-bit range"),
        (edit("metrics", value="1.0"), "column 'value' must be float"),
        (edit("artifacts", path="../../etc/passwd"), "artifact path .* without '..'"),
        (edit("sessions", id="S" * 32), "sessions.jsonl line 1 .*session id must be 32 hex"),
        (edit("file_events", mode="exec"), "file mode must be one of"),
        (edit("cells", status="weird"), "cells.jsonl line 1 .*cell status"),
    ],
)
def test_a_bad_row_is_refused_by_name_and_the_store_is_untouched(
    store: Store, tmp_path: Path, table_change: Any, message: str
) -> None:
    table, change = table_change
    _, good = exported(store, tmp_path)
    bad = rewritten(good, tmp_path / "bad.zip", table, change)
    target = Store(str(tmp_path / "target"))
    make_run(target)
    rows = count_rows(target)
    with pytest.raises(ValidationError, match=message):
        import_runs(bad, store=target)
    assert count_rows(target) == rows


def test_a_run_name_with_a_newline_never_reaches_the_store(store: Store, tmp_path: Path) -> None:
    rid, good = exported(store, tmp_path)
    table, change = edit("runs", name="ok\n__import__('os').system('echo INJECTED')")
    bad = rewritten(good, tmp_path / "bad.zip", table, change)
    target = Store(str(tmp_path / "target"))
    with pytest.raises(ValidationError, match=f"run {rid}|id '{rid}'"):
        import_runs(bad, store=target)
    assert target.list_run_ids() == []


def test_secrets_are_redacted_on_import(store: Store, tmp_path: Path) -> None:
    line = "%%track --param api_key=sk-PLANTED-1 --param lr=0.1\nx = 1"
    rid = make_run(store, cells=[line], params={"lr": "0.1"})
    good = tmp_path / "good.zip"
    export_runs(good, [rid], store=store)

    def plant(rows: list[Row]) -> list[Row]:
        extra = {
            "api key": "PLANTED-2",
            "db_pass": "PLANTED-3",
            "cache": "redis://:PLANTED-4@host:6379/0",
            "db": "postgres://u:PLANTED@5@host/db",
            "endpoint": "https://x.example/v1?api_key=PLANTED-6&token=PLANTED-7",
            "conf": "{'db': {'password': 'PLANTED-8'}}",
        }
        return rows + [{"run_id": rid, "key": k, "value": v} for k, v in extra.items()]

    bad = rewritten(good, tmp_path / "secrets.zip", "params", plant)
    # the source store holds the %%track line as typed (written through the store API, not the
    # recorder), as a bundle made by hand or by an old nbtrack would
    with zipfile.ZipFile(bad) as z:
        assert b"sk-PLANTED-1" in z.read("tables/sources.jsonl")
    target = Store(str(tmp_path / "target"))
    assert import_runs(bad, store=target).runs == [rid]
    params = target.run_summaries([rid])[0]["params"]
    assert params["api key"] == params["db_pass"] == "[redacted]"
    assert params["conf"] == "{'db': {'password': '[redacted]'}}"
    assert params["cache"] == "redis://[redacted]@host:6379/0"
    assert params["db"] == "postgres://[redacted]@host/db"
    assert params["endpoint"] == "https://x.example/v1?api_key=[redacted]&token=[redacted]"
    (row,) = target.run_summaries([rid])
    (cell,) = target.run_cells(row)
    assert cell["source"].startswith("%%track --param api_key=[redacted]")
    target.close()
    stored = b"".join(p.read_bytes() for p in (tmp_path / "target").rglob("*") if p.is_file())
    assert b"PLANTED" not in stored


def test_import_memory_does_not_grow_with_a_member_unpacking_to_5_mb(
    store: Store, tmp_path: Path
) -> None:
    _, good = exported(store, tmp_path)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            if item.filename == "tables/metrics.jsonl":
                first = zin.read(item.filename).splitlines()[0] + b"\n"
                with zout.open(item.filename, "w") as w:
                    block = first * 10_000
                    for _ in range((5 << 20) // len(block)):
                        w.write(block)
            else:
                zout.writestr(item, zin.read(item.filename))
    assert bomb.stat().st_size < 2 << 20
    target = Store(str(tmp_path / "target"))
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError, match="table metrics has .* rows, the manifest says 2"):
            import_runs(bomb, store=target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"peak {peak / 1e6:.0f} MB while importing"
    assert target.list_run_ids() == []


def test_export_runs_lists_its_contents_before_writing(store: Store, tmp_path: Path) -> None:
    rid = make_run(store, artifacts={"m.bin": b"weights"}, snapshot={"util.py": b"u = 1"})
    out = tmp_path / "runs.zip"
    seen: list[Any] = []

    def on_contents(contents: list[dict[str, Any]]) -> None:
        seen.append((out.exists(), contents))

    manifest = export_runs(out, [rid], store=store, on_contents=on_contents)
    ((existed, contents),) = seen
    assert not existed and contents == manifest["contents"]
    whats = {c["what"]: c["size"] for c in contents}
    assert whats[f"snapshot file util.py (run {rid[:8]})"] == 5
    assert whats[f"artifact m.bin (run {rid[:8]})"] == 7
    with zipfile.ZipFile(out) as z:
        sizes = {i.filename: i.file_size for i in z.infolist()}
    assert all(sizes[c["name"]] == c["size"] for c in contents)


def crafted_bundle(path: Path, zeros_mb: int = 0, **manifest: Any) -> Path:
    """A bundle as `replay --bundle` reads it, with a snapshot member of ``zeros_mb`` MB."""
    man = {
        "format": "nbtrack-bundle",
        "format_version": 1,
        "run_id": "ab" * 16,
        "name": "r",
        "experiment": "e",
        "notebook": {"name": "run.ipynb"},
        "snapshot": {"zeros.bin": {"hash": "0" * 32, "member": "snapshot/zeros.bin"}},
        "cells": [{"source": "x = 1"}],
        **manifest,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(man))
        with z.open("snapshot/zeros.bin", "w") as w:
            for _ in range(zeros_mb):
                w.write(b"\0" * (1 << 20))
    return path


def test_replay_bundle_reads_small_members_and_streams_the_snapshot(tmp_path: Path) -> None:
    from nbtrack.reproduce.bundle import read_bundle

    bundle = crafted_bundle(tmp_path / "b.zip", zeros_mb=20)
    tracemalloc.start()
    try:
        opened = read_bundle(bundle)
        root = opened["extract"](tmp_path / "out")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (root / "zeros.bin").stat().st_size == 20 << 20
    assert peak < 4 << 20, f"peak {peak / 1e6:.0f} MB while reading the bundle"


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ({"name": "r\nimport os"}, "run name .* control characters"),
        ({"run_id": "../../x"}, "run_id must be 32 hex digits"),
        ({"notebook": {"name": "../../outside.ipynb"}}, "notebook name must be a file name"),
        ({"cells": "x = 1"}, "cells must be a list"),
    ],
)
def test_replay_bundle_refuses_a_crafted_manifest(
    tmp_path: Path, manifest: dict[str, Any], message: str
) -> None:
    from nbtrack.reproduce.bundle import read_bundle

    with pytest.raises(ValidationError, match=message):
        read_bundle(crafted_bundle(tmp_path / "b.zip", **manifest))
