"""``nbtrack export-runs`` / ``import-runs`` carry a run's datasets (``log_input``) and the
failure it ended with; a bundle made before either existed still imports."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import nbtrack
from nbtrack.errors import ValidationError
from nbtrack.lifecycle.transfer import export_runs, import_runs
from nbtrack.query.runs import read_run
from nbtrack.query.search import search_runs
from nbtrack.store import open_store
from tests.conftest import run_cli


def _runs(source: Path, tmp_path: Path) -> tuple[str, str]:
    """A finished run with a table, a file and an array as inputs, and a run that failed."""
    data = tmp_path / "train.csv"
    data.write_text("x,y\n1,2\n3,4\n")
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["a", "b", "c"]})
    with nbtrack.start_run(
        name="fit", experiment="exp", store=source, log_system_metrics=False
    ) as run:
        run.log_input(frame, name="train", context="training")
        run.log_input(str(data), context="raw")
        run.log_param("lr", 0.1)
    try:
        with nbtrack.start_run(
            name="broken", experiment="exp", store=source, log_system_metrics=False
        ) as bad:
            bad.log_input(frame.head(2), name="valid", context="validation")
            raise KeyError("label_x")
    except KeyError:
        pass
    return run.id, bad.id


def _rewrite(src: Path, dst: Path, change: Any) -> Path:
    """A copy of bundle ``src`` with each member changed by ``change(name, data)`` (None: left out)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = change(item.filename, zin.read(item.filename))
            if data is not None:
                zout.writestr(item.filename, data)
    return dst


def test_export_runs_and_import_runs_keep_datasets_and_the_failure(tmp_path: Path) -> None:
    # Given a store with a run that declared datasets and a run that failed
    source = tmp_path / "source"
    fit, broken = _runs(source, tmp_path)
    # When both travel through the commands a user runs
    bundle = tmp_path / "runs.zip"
    out = run_cli("export-runs", "--store", str(source), "-o", str(bundle), fit, broken)
    assert out.returncode == 0, out.stderr
    assert "tables/datasets.jsonl: 3 datasets rows" in out.stderr, out.stderr
    target = tmp_path / "target"
    out = run_cli("import-runs", "--store", str(target), str(bundle))
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.split()) == sorted([fit, broken])
    # Then the imported runs have the same datasets and failure as the originals
    src, dst = open_store(source), open_store(target)
    for rid in (fit, broken):
        before, after = read_run(src, rid), read_run(dst, rid)
        assert after["datasets"] == before["datasets"]
        assert after["failure"] == before["failure"]
    assert [d["name"] for d in read_run(dst, fit)["datasets"]] == ["train", "train.csv"]
    failure = read_run(dst, broken)["failure"]
    assert failure["type"] == "KeyError" and "label_x" in failure["message"], failure
    assert read_run(dst, fit)["failure"] is None
    # and the imported store searches them as the source does
    found = search_runs(filter_string="datasets.context = 'validation'", store=dst)
    assert found["run_id"].tolist() == [broken]


def test_a_bundle_made_before_datasets_and_failures_still_imports(tmp_path: Path) -> None:
    # Given a bundle as an older nbtrack wrote it: no datasets member, runs without failure
    source = tmp_path / "source"
    fit, broken = _runs(source, tmp_path)
    bundle = tmp_path / "runs.zip"
    export_runs(bundle, [fit, broken], store=str(source))

    def older(name: str, data: bytes) -> bytes | None:
        if name == "tables/datasets.jsonl":
            return None
        if name == "tables/runs.jsonl":
            rows = [json.loads(line) for line in data.decode().splitlines()]
            for row in rows:
                del row["failure"]
            return "".join(json.dumps(r) + "\n" for r in rows).encode()
        if name == "nbtrack-runs.json":
            manifest = json.loads(data)
            del manifest["tables"]["datasets"]
            manifest["contents"] = [
                c for c in manifest["contents"] if c["name"] != "tables/datasets.jsonl"
            ]
            return json.dumps(manifest).encode()
        return data

    old = _rewrite(bundle, tmp_path / "old.zip", older)
    # When it is imported
    target = tmp_path / "target"
    report = import_runs(old, store=str(target))
    # Then its runs are there, with no datasets and no recorded failure
    assert sorted(report.runs) == sorted([fit, broken])
    dst = open_store(target)
    assert read_run(dst, broken)["status"] == "failed"
    assert read_run(dst, broken)["failure"] is None
    assert read_run(dst, fit)["datasets"] == [] and read_run(dst, fit)["params"] == {"lr": "0.1"}
    assert "datasets" not in report.rows


@pytest.mark.parametrize(
    ("member", "change", "message"),
    [
        # a bundle that counts datasets but lost them is damaged, not old
        ("tables/datasets.jsonl", lambda data: None, "datasets.jsonl is missing"),
        (
            "tables/datasets.jsonl",
            lambda data: data.replace(b'"kind": "dataframe"', b'"kind": "spreadsheet"'),
            r"datasets.jsonl line 1 .*dataset kind must be one of",
        ),
        (
            "tables/datasets.jsonl",
            lambda data: data.replace(b'"schema": "[', b'"schema": "not json [', 1),
            r"datasets.jsonl line \d .*dataset schema must be JSON",
        ),
        (
            "tables/datasets.jsonl",
            lambda data: data.replace(b'"name": "train"', b'"name": "tr\\nain"', 1),
            r"datasets.jsonl line \d .*dataset name .* contains control characters",
        ),
        (
            "tables/runs.jsonl",
            lambda data: data.replace(b'"failure": "{', b'"failure": "oops {', 1),
            r"runs.jsonl line \d .*failure must be a JSON object",
        ),
    ],
)
def test_a_bad_dataset_or_failure_row_is_refused_naming_it(
    tmp_path: Path, member: str, change: Any, message: str
) -> None:
    source = tmp_path / "source"
    _runs(source, tmp_path)
    good = tmp_path / "good.zip"
    export_runs(good, filter_string="", store=str(source))
    seen = [False]

    def tamper(name: str, data: bytes) -> bytes | None:
        if name == member and not seen[0]:
            seen[0] = True
            changed = change(data)
            assert changed != data, "the tampering did not apply"
            return changed
        return data

    bad = _rewrite(good, tmp_path / "bad.zip", tamper)
    target = tmp_path / "target"
    with pytest.raises(ValidationError, match=message):
        import_runs(bad, store=str(target))
    assert not target.exists() or search_runs(store=open_store(target)).empty
