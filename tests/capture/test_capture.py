"""Capture: environment, notebook revision, file lineage and system samples, on real files,
real git repositories and real numpy/pandas I/O."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from nbtrack.capture import revision
from nbtrack.capture.environment import (
    capture_environment,
    diff_environments,
    environment_bytes,
    format_environment_diff,
)
from nbtrack.capture.lineage import FileTracker, untracked
from nbtrack.capture.revision import capture_revision, notebook_path
from nbtrack.capture.system import sample_system
from nbtrack.store.blobs import content_hash

# ---------------------------------------------------------------- environment


def test_environment_names_python_version_and_installed_numpy():
    env = capture_environment()
    assert env["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert env["python"]["executable"] == sys.executable
    assert env["packages"]["numpy"] == np.__version__
    assert env["packages"]["pandas"] == pd.__version__
    assert list(env["packages"]) == sorted(env["packages"])
    assert all(name == name.lower() for name in env["packages"])
    assert env["cpu"]["count"] == os.cpu_count()
    assert env["memory_total"] > 0
    assert isinstance(env["gpus"], list)
    assert env["platform"]["system"]


def test_environment_never_holds_environment_variable_values(monkeypatch):
    monkeypatch.setenv("NBTRACK_TEST_API_TOKEN", "s3cr3t-value-4711")
    assert b"s3cr3t-value-4711" not in environment_bytes(capture_environment())


def test_environment_bytes_are_the_same_for_equal_environments_in_any_key_order():
    env = capture_environment()
    shuffled = {k: env[k] for k in reversed(list(env))}
    shuffled["packages"] = dict(reversed(list(env["packages"].items())))
    assert environment_bytes(shuffled) == environment_bytes(env)
    assert json.loads(environment_bytes(env)) == env
    assert b" " not in environment_bytes({"a": [1, 2], "b": {"c": 3}})


def _env(python="3.11.7", packages=None, system="Linux"):
    return {
        "python": {"version": python, "implementation": "CPython", "executable": "/x/python"},
        "platform": {
            "system": system,
            "release": "6.1",
            "machine": "x86_64",
            "platform": f"{system}-6.1",
        },
        "packages": packages if packages is not None else {"numpy": "1.26.4", "pandas": "2.2.0"},
    }


def test_identical_environments_have_no_difference():
    assert diff_environments(_env(), _env()) == {}


def test_diff_finds_added_removed_and_changed_packages():
    old = _env(packages={"numpy": "1.26.4", "pandas": "2.2.0", "scipy": "1.12.0"})
    new = _env(packages={"numpy": "2.0.0", "pandas": "2.2.0", "polars": "1.0.0"})
    diff = diff_environments(old, new)
    assert diff == {
        "packages": {
            "added": {"polars": "1.0.0"},
            "removed": {"scipy": "1.12.0"},
            "changed": {"numpy": ["1.26.4", "2.0.0"]},
        }
    }
    lines = format_environment_diff(diff)
    assert "package numpy: 1.26.4 -> 2.0.0" in lines
    assert "package polars: not installed -> 1.0.0" in lines
    assert "package scipy: 1.12.0 -> not installed" in lines


def test_diff_reports_python_and_platform_but_not_a_respelt_package_name():
    old = _env(packages={"typing_extensions": "4.9.0"})
    new = _env(python="3.12.1", system="Darwin", packages={"typing-extensions": "4.9.0"})
    diff = diff_environments(old, new)
    assert set(diff) == {"python", "platform"}
    assert diff["python"]["recorded"]["version"] == "3.11.7"
    assert diff["python"]["replayed"]["version"] == "3.12.1"
    lines = format_environment_diff(diff)
    assert lines[0] == "python: CPython 3.11.7 -> CPython 3.12.1"
    assert lines[1] == "platform: Linux-6.1 -> Darwin-6.1"


def test_a_different_interpreter_path_alone_is_not_a_python_difference():
    new = _env()
    new["python"]["executable"] = "/elsewhere/python"
    assert diff_environments(_env(), new) == {}


# ---------------------------------------------------------------- revision


def git(repo, *args):
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    out = subprocess.run(
        ["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path):
    """A git repository holding a committed notebook."""
    root = tmp_path / "repo"
    (root / "nb").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    notebook = root / "nb" / "analysis.ipynb"
    notebook.write_text('{"cells": [], "nbformat": 4}')
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    revision.clear_cache()
    yield root, notebook
    revision.clear_cache()


def test_revision_of_a_committed_notebook_names_its_commit_and_is_clean(repo):
    root, notebook = repo
    rev = capture_revision(str(notebook))
    assert rev["notebook_path"] == str(notebook)
    assert rev["notebook_content"] == notebook.read_bytes()
    assert rev["notebook_hash"] == content_hash(notebook.read_bytes())
    assert rev["git_commit"] == git(root, "rev-parse", "HEAD")
    assert rev["git_root"] == str(root)
    assert rev["git_diff_hash"] is None


def test_editing_the_notebook_gives_a_diff_hash_at_once(repo):
    root, notebook = repo
    clean = capture_revision(str(notebook))
    notebook.write_text('{"cells": [{"source": "x = 1"}], "nbformat": 4}')
    dirty = capture_revision(str(notebook))  # the file's size changed: no stale cache
    assert dirty["git_diff_hash"] is not None
    assert dirty["notebook_hash"] != clean["notebook_hash"]
    assert dirty["git_commit"] == clean["git_commit"]


def test_an_untracked_file_changes_the_diff_hash(repo):
    root, notebook = repo
    notebook.write_text("edited")
    edited = capture_revision(str(notebook))["git_diff_hash"]
    (root / "helpers.py").write_text("def f(): pass\n")
    revision.clear_cache()
    with_untracked = capture_revision(str(notebook))["git_diff_hash"]
    assert edited is not None and with_untracked is not None
    assert with_untracked != edited


def test_diff_hash_sees_binary_changes(repo):
    root, notebook = repo
    (root / "data.bin").write_bytes(bytes(range(256)))
    git(root, "add", "data.bin")
    git(root, "commit", "-q", "-m", "data")
    revision.clear_cache()
    hashes = set()
    for tail in (b"\x00\x01", b"\x00\x02"):
        (root / "data.bin").write_bytes(bytes(range(256)) + tail)
        revision.clear_cache()
        hashes.add(capture_revision(str(notebook))["git_diff_hash"])
    assert None not in hashes and len(hashes) == 2


def test_the_store_directory_inside_the_repository_is_not_a_change(repo):
    root, notebook = repo
    (root / "nb" / ".nbtrack" / "ab").mkdir(parents=True)
    (root / "nb" / ".nbtrack" / "ab" / "cdef").write_bytes(b"blob")
    assert capture_revision(str(notebook))["git_diff_hash"] is None


def test_a_new_commit_is_seen_without_waiting(repo):
    root, notebook = repo
    first = capture_revision(str(notebook))["git_commit"]
    (root / "more.txt").write_text("more")
    git(root, "add", "more.txt")
    git(root, "commit", "-q", "-m", "second")
    assert capture_revision(str(notebook))["git_commit"] == git(root, "rev-parse", "HEAD") != first


def test_cached_revision_is_refreshed_after_a_second(repo):
    root, notebook = repo
    first = capture_revision(str(notebook))
    again = capture_revision(str(notebook))
    assert again == first and again is not first
    (root / "untracked.txt").write_text("new")
    time.sleep(1.1)
    assert capture_revision(str(notebook))["git_diff_hash"] is not None


def test_a_touched_notebook_is_hashed_again(repo):
    root, notebook = repo
    capture_revision(str(notebook))
    st = notebook.stat()
    notebook.write_text('{"cells": [], "nbformat": 5}')  # same size
    os.utime(notebook, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert capture_revision(str(notebook))["notebook_hash"] == content_hash(notebook.read_bytes())


def test_repository_without_commits_has_no_commit_but_a_diff(tmp_path):
    git(tmp_path, "init", "-q")
    notebook = tmp_path / "new.ipynb"
    notebook.write_text("{}")
    rev = capture_revision(str(notebook))
    assert rev["git_root"] == str(tmp_path)
    assert rev["git_commit"] is None
    assert rev["git_diff_hash"] is not None


def test_outside_a_repository_git_fields_are_none(tmp_path, monkeypatch):
    notebook = tmp_path / "loose.ipynb"
    notebook.write_text("{}")
    rev = capture_revision(str(notebook))
    assert rev["notebook_hash"] == content_hash(b"{}")
    assert (rev["git_commit"], rev["git_diff_hash"], rev["git_root"]) == (None, None, None)
    monkeypatch.chdir(tmp_path)
    rev = capture_revision(None)
    assert rev["notebook_path"] is None and rev["notebook_hash"] is None and rev["git_root"] is None


def test_a_missing_notebook_file_gives_none_instead_of_raising(tmp_path):
    rev = capture_revision(str(tmp_path / "gone.ipynb"))
    assert rev["notebook_hash"] is None and rev["notebook_content"] is None


def test_notebook_path_comes_from_jpy_session_name(tmp_path, monkeypatch):
    notebook = tmp_path / "lab.ipynb"
    notebook.write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JPY_SESSION_NAME", "lab.ipynb")
    assert notebook_path() == str(notebook)


def test_notebook_path_prefers_the_kernel_namespace(tmp_path, monkeypatch):
    env_nb, ns_nb = tmp_path / "env.ipynb", tmp_path / "ns.ipynb"
    env_nb.write_text("{}")
    ns_nb.write_text("{}")
    monkeypatch.setenv("JPY_SESSION_NAME", str(env_nb))
    assert notebook_path({"__session__": str(ns_nb)}) == str(ns_nb)
    assert notebook_path({"__session__": "Console 1"}) == str(env_nb)


def test_notebook_path_of_a_plain_script_is_the_script(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "from nbtrack.capture.revision import notebook_path\nprint(notebook_path())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
    env["PYTHONPATH"] = str(pathlib.Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(script)


def test_notebook_path_is_none_under_a_test_runner(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert notebook_path({}) is None  # python -m pytest: __main__ is pytest's own file


# ---------------------------------------------------------------- lineage


@pytest.fixture
def tracker(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    t = FileTracker(exclude=[tmp_path / "ignored"])
    t.start()
    yield t
    t.stop()


def test_open_reads_and_writes_are_reported_with_their_mode(tracker, tmp_path):
    with open("out.txt", "w") as f:
        f.write("hello")
    with open(tmp_path / "out.txt") as f:
        f.read()
    with open("both.bin", "wb") as f:
        f.write(b"1")
    with open("both.bin", "r+b") as f:
        f.read()
    assert tracker.take() == [
        (str(tmp_path / "out.txt"), "write"),
        (str(tmp_path / "out.txt"), "read"),
        (str(tmp_path / "both.bin"), "write"),
        (str(tmp_path / "both.bin"), "read"),
    ]
    assert tracker.take() == []


def test_repeated_opens_are_reported_once(tracker, tmp_path):
    (tmp_path / "x.txt").write_text("x")
    tracker.take()
    for _ in range(100):
        (tmp_path / "x.txt").read_text()
    assert tracker.take() == [(str(tmp_path / "x.txt"), "read")]


def test_pathlib_numpy_and_pandas_io_is_reported(tracker, tmp_path):
    (tmp_path / "notes.txt").write_text("n")
    (tmp_path / "notes.txt").read_bytes()
    np.save(tmp_path / "arr.npy", np.arange(5))
    np.load(tmp_path / "arr.npy")
    np.savetxt("arr.csv", np.arange(3))
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    df.to_csv(tmp_path / "frame.csv", index=False)
    pd.read_csv(tmp_path / "frame.csv", engine="c")
    df.to_csv("frame2.csv", index=False)
    pd.read_csv("frame2.csv", engine="python")
    got = tracker.take()
    expected = [
        ("notes.txt", "write"),
        ("notes.txt", "read"),
        ("arr.npy", "write"),
        ("arr.npy", "read"),
        ("arr.csv", "write"),
        ("frame.csv", "write"),
        ("frame.csv", "read"),
        ("frame2.csv", "write"),
        ("frame2.csv", "read"),
    ]
    assert got == [(str(tmp_path / name), mode) for name, mode in expected]


def test_os_open_flags_decide_read_or_write(tracker, tmp_path):
    for name, flags in (
        ("r", os.O_RDONLY),
        ("w", os.O_WRONLY | os.O_CREAT),
        ("rw", os.O_RDWR | os.O_CREAT),
    ):
        if name == "r":
            (tmp_path / "r").write_text("r")
            tracker.take()
        os.close(os.open(tmp_path / name, flags))
    assert tracker.take() == [
        (str(tmp_path / "r"), "read"),
        (str(tmp_path / "w"), "write"),
        (str(tmp_path / "rw"), "read"),
        (str(tmp_path / "rw"), "write"),
    ]


def test_relative_paths_resolve_against_the_directory_current_at_open(tracker, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f.txt").write_text("f")
    tracker.take()
    os.chdir(tmp_path / "sub")
    open("f.txt").close()
    os.chdir(tmp_path)
    assert tracker.take() == [(str(tmp_path / "sub" / "f.txt"), "read")]


def test_excluded_directories_deleted_files_and_directories_are_not_reported(tracker, tmp_path):
    (tmp_path / "ignored").mkdir()
    (tmp_path / "ignored" / "cache.txt").write_text("c")
    with open(tmp_path / "temp.txt", "w") as f:
        f.write("t")
    os.remove(tmp_path / "temp.txt")
    os.close(os.open(tmp_path, os.O_RDONLY))
    open(os.devnull).close()
    pathlib.Path(np.__file__).read_bytes()  # site-packages holds no data
    assert tracker.take() == []


def test_an_empty_exclude_entry_does_not_exclude_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tracker = FileTracker(exclude=["", None])
    tracker.start()
    try:
        pathlib.Path("kept.txt").write_text("k")
    finally:
        tracker.stop()
    assert tracker.take() == [(str(tmp_path / "kept.txt"), "write")]


def test_importing_a_local_module_is_not_a_data_read(tracker, tmp_path, monkeypatch):
    (tmp_path / "localhelpers_capture_test.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    tracker.take()
    import localhelpers_capture_test  # noqa: F401

    try:
        assert tracker.take() == []
    finally:
        sys.modules.pop("localhelpers_capture_test")


def test_nothing_is_collected_while_stopped_or_untracked(tracker, tmp_path):
    tracker.stop()
    (tmp_path / "a.txt").write_text("a")
    tracker.start()
    with untracked():
        (tmp_path / "b.txt").write_text("b")
    assert tracker.take() == []


def test_hashing_a_file_is_not_reported_as_reading_it(tracker, tmp_path):
    (tmp_path / "w.txt").write_text("w")
    assert tracker.take() == [(str(tmp_path / "w.txt"), "write")]
    tracker.file_hash(str(tmp_path / "w.txt"))
    assert tracker.take() == []


def test_file_hash_is_the_blob_hash_and_cached_by_mtime_and_size(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n")
    tracker = FileTracker()
    assert tracker.file_hash(str(path)) == (content_hash(b"a,b\n1,2\n"), 8)
    st = path.stat()
    path.write_bytes(b"a,b\n3,4\n")  # same size, mtime put back: the cached answer stands
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert tracker.file_hash(str(path)) == (content_hash(b"a,b\n1,2\n"), 8)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    assert tracker.file_hash(str(path)) == (content_hash(b"a,b\n3,4\n"), 8)


def test_file_hash_of_a_missing_or_special_file_is_none(tmp_path):
    tracker = FileTracker()
    assert tracker.file_hash(str(tmp_path / "nope")) is None
    assert tracker.file_hash(str(tmp_path)) is None


def test_large_file_hash_matches_the_blob_hash(tmp_path):
    data = os.urandom(3 * 2**20 + 17)
    (tmp_path / "big.bin").write_bytes(data)
    assert FileTracker().file_hash(str(tmp_path / "big.bin")) == (content_hash(data), len(data))


def test_two_trackers_each_see_the_same_files(tmp_path):
    first, second = FileTracker(), FileTracker()
    first.start()
    second.start()
    try:
        (tmp_path / "shared.txt").write_text("s")
    finally:
        first.stop()
        second.stop()
    assert first.take() == second.take() == [(str(tmp_path / "shared.txt"), "write")]


# ---------------------------------------------------------------- system


def test_system_sample_has_cpu_and_memory_figures():
    for _ in range(2):
        sample = sample_system()
        assert {"system/cpu_percent", "system/memory_percent", "system/memory_used_mb"} <= set(
            sample
        )
        assert all(isinstance(v, float) for v in sample.values())
        assert 0 <= sample["system/cpu_percent"] <= 100
        assert 0 < sample["system/memory_percent"] <= 100
        assert sample["system/memory_used_mb"] > 0
        assert all(k.startswith("system/") for k in sample)
