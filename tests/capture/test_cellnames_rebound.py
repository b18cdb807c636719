"""names_rebound: which names a cell binds afresh before anything in it names them, so the
object they held before the cell cannot have been reached through them."""

from __future__ import annotations

import pytest

from nbtrack.capture.cellnames import cell_names, names_rebound, names_touched


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # a model name bound again, then used: its old model is not reached through it
        ("glm = smf.glm('y ~ x', data=dc)\nres = glm.fit()", {"glm", "res"}),
        ("a, *b = f()\n[c, d] = 1, 2", {"a", "b", "c", "d"}),
        ("n: int = 3", {"n"}),
        ("a = b = a", {"b"}),  # the right-hand side is evaluated first
        ("x = 1\nx.y = 2", {"x"}),  # a later use reaches the new object only
    ],
)
def test_names_bound_before_any_use_are_rebound(code, expected):
    assert names_rebound(code) == expected


@pytest.mark.parametrize(
    "code",
    [
        "glm = glm.fit()",  # read by its own right-hand side
        "x = glm\nglm = 1",  # aliased first: x.mutate() reaches the old object
        "v[:] = 0\nv = 1",  # written through, then bound again
        "v += 1",
        "del v\nv = 1",
        "if c:\n    v = 1\nv.x = 2",  # bound only maybe: the later use may reach the old object
        "for i in range(3):\n    v = i",
        "with open(p) as v:\n    pass",
        "def f():\n    return v\nv = f()",  # a function of the cell reads the old binding
        "(v := 3)\nv = 4",
        "v.x = 1\nv = 2",
        "v: int\nv = 1",  # (an annotation alone binds nothing; counted as a use)
        "import v\nv = 1",
    ],
)
def test_names_used_before_or_bound_conditionally_are_not(code):
    assert "v" not in names_rebound(code) and "glm" not in names_rebound(code)


@pytest.mark.parametrize(
    "code",
    [
        "exec('v.append(1)')\nv = 1",
        "globals()['v'].append(1)\nv = 1",
        "v = 1\nfrom m import *",
        "%magic\nv = 1",  # not Python: the caller passes the transformed cell
        "v = (",
    ],
)
def test_nothing_is_rebound_when_the_cell_cannot_be_read(code):
    assert names_rebound(code) == set()


@pytest.mark.parametrize(
    "code",
    ["glm = f(x)\nres = glm.fit()", "x = glm\nglm = 1", "exec('x')", "%magic", "a, b = b, a"],
)
def test_cell_names_gives_both_answers_from_one_parse(code):
    assert cell_names(code) == (names_touched(code), names_rebound(code))
    touched, rebound = cell_names(code)
    assert touched is None or rebound <= touched
