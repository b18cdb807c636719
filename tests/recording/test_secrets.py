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


FILE_SECRETS = {
    ".env": "PLANTED-dotenv-7777",
    ".env.local": "PLANTED-dotenv-local-8888",
    "conf/credentials": "PLANTED-credentials-9999",
    "keys/id_rsa": "PLANTED-private-key-1010",
    "secrets.yaml": "PLANTED-secrets-yaml-1111",
}
# values reach the kernel through its environment: literal secrets typed into a cell are
# recorded as typed (the cell's source), as the README says
PARAM_FORMS = {
    "api key": "PLANTED-form-1",
    "passphrase": "PLANTED-form-2",
    "db_pass": "PLANTED-form-3",
    "private.key": "PLANTED-form-4",
    "cache": "redis://:PLANTED-form-5@cache:6379/0",
    "db": "postgres://u:p@PLANTED-form-6@db/x",
    "endpoint": "https://api.example/v1?api_key=PLANTED-form-7&token=PLANTED-form-8",
    "conf_password": "PLANTED-form-9",
    "upstream": "https://ghp_PLANTEDform10abcdefghij@github.com/o/r",
}


def test_secret_files_and_every_redaction_form_stay_out_of_shareable_exports(
    start_kernel, store_dir, tmp_path
):
    """Given a notebook directory holding .env, credential and key files beside its code, and
    a run logging secrets in every form the review found: the store, the bundle and the
    export-runs zip hold none of them, and both exports list their files before writing."""
    nb = tmp_path / "project"
    nb.mkdir()
    (nb / "analysis.ipynb").write_text("{}")
    (nb / "train.py").write_text("EPOCHS = 3\n")
    (nb / ".gitignore").write_text("data/\n")
    (nb / "data").mkdir()
    (nb / "data" / "big.csv").write_text("PLANTED-ignored-data\n")
    for rel, secret in FILE_SECRETS.items():
        (nb / rel).parent.mkdir(parents=True, exist_ok=True)
        (nb / rel).write_text(f"TOKEN={secret}\n")
    env = {f"FORM_{i}": value for i, value in enumerate(PARAM_FORMS.values())}
    k = start_kernel(JPY_SESSION_NAME=str(nb / "analysis.ipynb"), **env)
    k.ok("%load_ext nbtrack")
    k.ok(
        "%%track --name forms\n"
        "import os, nbtrack\n"
        f"v = [os.environ[f'FORM_{{i}}'] for i in range({len(PARAM_FORMS)})]\n"
        f"nbtrack.log_params(dict(zip({list(PARAM_FORMS)[:7]!r}, v)))\n"
        "nbtrack.log_param('conf', {'db': {'host': 'h', 'password': v[7]}})\n"
        "nbtrack.set_tag('upstream', v[8])"
    )
    k.shutdown()
    store = open_store(store_dir)
    (rid,) = store.list_run_ids()
    params = store.run_summaries([rid])[0]["params"]
    assert params["conf"] == "{'db': {'host': 'h', 'password': '[redacted]'}}"
    assert params["cache"] == "redis://[redacted]@cache:6379/0"
    store.close()

    bundle, runs_zip = tmp_path / "forms.zip", tmp_path / "runs.zip"
    res = run_cli("export", rid, "-f", "bundle", "-o", str(bundle), "--store", str(store_dir))
    assert res.returncode == 0, res.stderr
    assert "snapshot file train.py" in res.stderr and "contents (" in res.stderr
    res = run_cli("export-runs", rid, "-o", str(runs_zip), "--store", str(store_dir))
    assert res.returncode == 0, res.stderr
    assert f"snapshot file train.py (run {rid[:8]})" in res.stderr
    for listing in (res.stderr,):
        assert not any(name in listing for name in FILE_SECRETS)

    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        exported = b"".join(z.read(n) for n in names)
    assert "snapshot/train.py" in names
    assert not [n for n in names if any(n.endswith(rel) for rel in FILE_SECRETS)]
    with zipfile.ZipFile(runs_zip) as z:
        exported += b"".join(z.read(n) for n in z.namelist())
    stored = every_byte_in(list(store_dir.rglob("*")))
    for secret in [*FILE_SECRETS.values(), "PLANTED-ignored-data"]:
        assert secret.encode() not in stored and secret.encode() not in exported, secret
    assert b"PLANTED-form" not in stored and b"PLANTED-form" not in exported
