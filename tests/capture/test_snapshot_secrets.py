"""The code snapshot never takes secret files, follows the project's .gitignore files as well as
.nbtrackignore, and walks a bounded part of the directory: ignored directories are not entered,
and a directory of 100,000 files is not listed to the end."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from nbtrack.capture.ignore import denied_dir, denied_file
from nbtrack.capture.snapshot import capture_snapshot, snapshot_files
from nbtrack.store import Store

SECRET_FILES = [
    ".env",
    ".env.local",
    "prod.env",
    "conf/credentials",
    "conf/credentials.json",
    "keys/id_rsa",
    "keys/id_ed25519.pub",
    "keys/server.pem",
    "keys/tls.key",
    "keys/cert.p12",
    "keys/cert.pfx",
    "keys/app.keystore",
    ".netrc",
    ".pgpass",
    "secrets.yaml",
    ".aws/config",
    ".ssh/known_hosts",
    ".docker/config.json",
]


def project(root: Path) -> Path:
    """A repository holding a notebook directory ``nb/`` with code, data, ignore files and
    secrets in every form the deny list names."""
    (root / ".git").mkdir(parents=True)
    (root / ".gitignore").write_text("from_top.txt\n")
    nb = root / "nb"
    nb.mkdir()
    (nb / "analysis.ipynb").write_text("{}")
    (nb / "train.py").write_text("print('train')\n")
    (nb / "from_top.txt").write_text("ignored by the repository's top .gitignore")
    (nb / ".gitignore").write_text("data/\n*.log\n!keep.log\n")
    (nb / ".nbtrackignore").write_text("scratch.txt\n!.env\n!conf/credentials\n")
    (nb / "scratch.txt").write_text("nbtrackignored")
    (nb / "run.log").write_text("log")
    (nb / "keep.log").write_text("kept by a negation")
    (nb / "data").mkdir()
    (nb / "data" / "big.csv").write_text("1,2\n")
    (nb / "sub").mkdir()
    (nb / "sub" / ".gitignore").write_text("tmp.txt\n")
    (nb / "sub" / "tmp.txt").write_text("ignored by a nested .gitignore")
    (nb / "sub" / "util.py").write_text("X = 1\n")
    for rel in SECRET_FILES:
        path = nb / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"PLANTED-SECRET in {rel}")
    return nb


def test_secret_files_are_never_taken_and_gitignore_is_followed(tmp_path: Path) -> None:
    nb = project(tmp_path / "repo")
    store = Store(str(tmp_path / "store"))
    h = capture_snapshot(store, str(nb), [])
    assert h is not None
    files = snapshot_files(store, h)
    assert set(files) == {
        "analysis.ipynb",
        "train.py",
        ".gitignore",
        ".nbtrackignore",
        "keep.log",
        "sub/.gitignore",
        "sub/util.py",
    }
    for content_hash in files.values():
        assert b"PLANTED-SECRET" not in store.get_blob(content_hash)


def load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_imported_local_module_on_the_deny_list_is_not_taken(tmp_path: Path) -> None:
    nb = tmp_path / "nb"
    nb.mkdir()
    (nb / "secrets.py").write_text("API_KEY = 'PLANTED'\n")
    (nb / "helpers.py").write_text("X = 1\n")
    modules = [load("snap_helpers", nb / "helpers.py"), load("snap_secrets", nb / "secrets.py")]
    store = Store(str(tmp_path / "store"))
    files = snapshot_files(
        store, capture_snapshot(store, str(tmp_path / "elsewhere"), modules) or ""
    )
    assert str(nb / "helpers.py") in files and str(nb / "secrets.py") not in files


@pytest.mark.parametrize(
    "name", [".env", ".ENV.production", "id_rsa", "x.PEM", "credentials", "secrets.toml"]
)
def test_the_deny_list_matches_names_in_any_case(name: str) -> None:
    assert denied_file(name)


def test_ordinary_names_are_not_denied() -> None:
    assert not any(denied_file(n) for n in ("train.py", "environment.yml", "keys.py", "envs.txt"))
    assert denied_dir(".ssh") and denied_dir(".aws") and not denied_dir("data")


def test_an_ignored_directory_is_never_listed(tmp_path: Path) -> None:
    nb = tmp_path / "nb"
    (nb / "data" / "deep").mkdir(parents=True)
    (nb / ".gitignore").write_text("data/\n")
    (nb / "a.py").write_text("A = 1\n")
    for i in range(50):
        (nb / "data" / "deep" / f"{i}.npy").write_bytes(b"x")
    listed: list[str] = []
    watching = [True]

    def hook(event: str, args: tuple) -> None:
        if watching[0] and event == "os.scandir":
            listed.append(str(args[0]))

    sys.addaudithook(hook)
    try:
        store = Store(str(tmp_path / "store"))
        files = snapshot_files(store, capture_snapshot(store, str(nb), []) or "")
    finally:
        watching[0] = False
    assert set(files) == {".gitignore", "a.py"}
    assert str(nb) in listed and not any("data" in p for p in listed)


def test_the_walk_stops_at_the_file_and_entry_bounds(tmp_path: Path, monkeypatch) -> None:
    nb = tmp_path / "nb"
    nb.mkdir()
    (nb / ".gitignore").write_text("*.npy\n")
    for i in range(300):
        (nb / f"a{i:04d}.npy").write_bytes(b"x")  # ignored, before z.py in name order
    for i in range(20):
        (nb / f"m{i:02d}.txt").write_text(str(i))
    (nb / "z.py").write_text("Z = 1\n")
    store = Store(str(tmp_path / "store"))
    everything = snapshot_files(store, capture_snapshot(store, str(nb), []) or "")
    assert "z.py" in everything and len(everything) == 22

    monkeypatch.setenv("NBTRACK_SNAPSHOT_MAX_FILES", "5")
    capped = snapshot_files(store, capture_snapshot(store, str(nb), []) or "")
    # at most 5 files examined, and 50 entries looked at: the 300 ignored names stop the walk
    assert len(capped) <= 5 and "z.py" not in capped and not any(p.startswith("m") for p in capped)

    monkeypatch.setenv("NBTRACK_SNAPSHOT_MAX_FILES", "1000")
    monkeypatch.setenv("NBTRACK_SNAPSHOT_LIMIT_MB", str(3 / (1 << 20)))  # 3 bytes in all
    small = snapshot_files(store, capture_snapshot(store, str(nb), []) or "")
    assert 1 <= len(small) <= 3
