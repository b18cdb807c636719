"""``%%track`` arguments take quoted values as a shell does (issue #18, finding 11), in a real
kernel and in the parser an export shares."""

from __future__ import annotations

import pytest

from nbtrack.query.runs import run_detail
from nbtrack.recording.track_line import parse_track_line
from nbtrack.store import open_store


def test_quoted_values_lose_their_quotes_and_keep_their_spaces():
    line = "--name 'my run' --param msg='a b' --tag note=\"two words\" -p q=\"it's\""
    parsed = parse_track_line(line)
    assert parsed.name == "my run"
    assert parsed.params == {"msg": "a b", "q": "it's"}
    assert parsed.tags == {"note": "two words"}


def test_backslashes_are_kept_as_written():
    assert parse_track_line(r"--param path=C:\data\x").params == {"path": r"C:\data\x"}


@pytest.mark.slow
def test_a_track_cell_with_quoted_values_records_them(kernel, store_dir):
    out = kernel.run(
        "%%track --name 'quoted run' --param msg='a b' --tag note=\"two words\"\nx = 1\nx + 1"
    )
    assert out["status"] == "ok" and out["result"] == "2", out
    assert "NbtrackWarning" not in out["stderr"], out["stderr"]
    out = kernel.run("m = 'from a variable'\n%track --param src='{m}'\n3")
    assert out["status"] == "ok" and out["result"] == "3", out
    st = open_store(store_dir)
    runs = [run_detail(st, i) for i in st.list_run_ids()]
    quoted = next(r for r in runs if r["name"] == "quoted run")
    assert quoted["params"] == {"msg": "a b"}
    assert quoted["tags"].get("note") == "two words"
    assert any(r["params"] == {"src": "from a variable"} for r in runs), runs
