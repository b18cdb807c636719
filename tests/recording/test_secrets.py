"""Secrets planted in a real kernel's environment, params, URLs and variables never reach the
store (SQLite file, WAL, blobs), the exports or the bundles; exports hold only their run."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from conftest import run_cli

from nbtrack.store import open_store

pytestmark = pytest.mark.slow

ENV_SECRETS = {
    "GITHUB_TOKEN": "ghp-PLANTED-env-token-1111",
    "MY_SECRET": "PLANTED-env-secret-2222",
    "DB_PASSWORD": "PLANTED-env-password-3333",
    "AWS_SECRET_ACCESS_KEY": "PLANTED-aws-secret-4444",
}
PARAM_SECRET = "sk-PLANTED-param-5555"
URL_PASSWORD = "PLANTEDurlpass6666"


def every_byte_in(paths: list[Path]) -> bytes:
    return b"\n".join(p.read_bytes() for p in paths if p.is_file())


def test_planted_secrets_reach_neither_the_store_nor_the_exports(start_kernel, store_dir, tmp_path):
    k = start_kernel(**ENV_SECRETS)
    k.ok("%load_ext nbtrack")
    # a notebook variable holding a secret read from the environment: only its hash is stored
    k.ok(
        "import os\nAWS_SECRET_ACCESS_KEY = os.environ['AWS_SECRET_ACCESS_KEY']\ntoken = os.environ['GITHUB_TOKEN']"
    )
    k.ok(
        "%%track --name leaky --param api_key="
        + PARAM_SECRET
        + f" --param db=postgresql://bob:{URL_PASSWORD}@db.example/x --tag owner=ana\n"
        "nbtrack.log_param('password', os.environ['DB_PASSWORD'])\n"
        "nbtrack.set_tag('upstream', 'https://user:' + os.environ['MY_SECRET'] + '@git.example/repo')\n"
        "nbtrack.log_metric('acc', 0.9)"
    )
    k.ok("%%track --name other-run\nunrelated_marker_variable = 'OTHER-RUN-ONLY'")
    store = open_store(store_dir)
    ids = store.list_run_ids()
    runs = {r["name"]: r for r in store.run_summaries(ids)}
    leaky = runs["leaky"]
    assert (
        leaky["params"]["api_key"] == "[redacted]" and leaky["params"]["password"] == "[redacted]"
    )
    assert leaky["params"]["db"] == "postgresql://[redacted]@db.example/x"
    assert leaky["tags"]["upstream"] == "https://[redacted]@git.example/repo"
    k.shutdown()  # everything written and checkpointed
    store.close()

    # exports of the first run: script, notebook and bundle
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    for fmt, ext in (("script", "py"), ("notebook", "ipynb"), ("bundle", "zip")):
        res = run_cli(
            "export",
            leaky["id"],
            "--format",
            fmt,
            "-o",
            str(out_dir / f"leaky.{ext}"),
            "--store",
            str(store_dir),
        )
        assert res.returncode == 0, res.stderr
    with zipfile.ZipFile(out_dir / "leaky.zip") as z:
        z.extractall(out_dir / "bundle")
    exported = every_byte_in(list(out_dir.rglob("*")))
    stored = every_byte_in(list(store_dir.rglob("*")))
    assert stored and exported
    for secret in [*ENV_SECRETS.values(), PARAM_SECRET, URL_PASSWORD]:
        assert secret.encode() not in stored, f"{secret} is in the store"
        assert secret.encode() not in exported, f"{secret} is in an export"
    # the variables are recorded by name and hash only
    assert b"AWS_SECRET_ACCESS_KEY" in stored
    # exports hold nothing from outside the run: not the later run's cells, not other runs
    assert b"OTHER-RUN-ONLY" not in exported
    assert runs["other-run"]["id"].encode() not in exported
    assert str(store_dir).encode() not in exported
