"""What the widgets' kernel side decides about layout and reading (issue #17): the runs table
hides ``system/...`` metric columns until asked and shows experiment and run id; the run view
states the environment as a person reads it; no chart spec makes vega warn (compiled and run
by the very vega and vega-lite the widgets bundle, in node)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import nbtrack
from nbtrack.widgets import run_view, runs_table
from nbtrack.widgets.run_detail import describe_environment, human_size
from nbtrack.widgets.specs import line_chart, live_chart

WIDGETS_JS = Path(__file__).resolve().parents[2] / "widgets-js"
RUN_SPECS = """
import * as vega from 'vega';
import * as vl from 'vega-lite';
import fs from 'fs';
const specs = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = {};
for (const [name, spec] of Object.entries(specs)) {
  const warnings = [];
  const logger = { level() { return this; }, warn: (...a) => warnings.push(a.join(' ')),
    error: (...a) => warnings.push(a.join(' ')), info() {}, debug() {} };
  const view = new vega.View(vega.parse(vl.compile(spec, { logger }).spec), { renderer: 'none', logger });
  view.logLevel(vega.Warn);
  await view.runAsync();
  const more = spec.data && spec.data.name ? (spec.usermeta || {}).append : null;
  if (more) { view.change(spec.data.name, vega.changeset().insert(more)); await view.runAsync(); }
  const colours = {};
  try { for (const s of view.scale('color').domain()) colours[s] = view.scale('color')(s); } catch (e) {}
  out[name] = { warnings, colours };
}
process.stdout.write(JSON.stringify(out));
"""


def run_in_vega(specs: dict[str, Any]) -> dict[str, Any]:
    if shutil.which("node") is None or not (WIDGETS_JS / "node_modules" / "vega").is_dir():
        pytest.skip("node and widgets-js/node_modules (npm ci in widgets-js) are needed")
    script = WIDGETS_JS / ".run-specs-test.mjs"
    script.write_text(RUN_SPECS)
    try:
        done = subprocess.run(
            ["node", str(script)],
            input=json.dumps(specs),
            capture_output=True,
            text=True,
            cwd=WIDGETS_JS,
        )
    finally:
        script.unlink()
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def rows(metric: str, n: int, run: str = "base (1234567)") -> list[dict[str, Any]]:
    return [
        {"run": run, "run_id": "1" * 32, "metric": metric, "x": i, "value": 1 / (i + 1)}
        for i in range(n)
    ]


def test_no_chart_spec_makes_vega_warn() -> None:
    # Given the metric chart of one metric, of one point, of two metrics (faceted), and the
    # live chart as the front end embeds it (with its first snapshot's rows)
    first = [{"series": "loss", "order": 0, "step": s, "value": 1 / (s + 1)} for s in range(3)]
    live = {**live_chart(), "data": {"name": "points", "values": first}}
    specs = {
        "line": line_chart(rows("loss", 20), ["loss"]),
        "one-point": line_chart(rows("acc", 1), ["acc"]),
        "facet": line_chart(
            [{**r, "smoothed": r["value"]} for r in rows("loss", 5) + rows("acc", 5)],
            ["acc", "loss"],
            smoothing=0.5,
        ),
        "small": line_chart(rows("loss", 5), ["loss"], width=340, height=150, legend=False),
        "live": live,
    }
    # When vega runs them, Then none logs a warning (no "Infinite extent for field")
    for name, result in run_in_vega(specs).items():
        assert result["warnings"] == [], (name, result["warnings"])


def test_a_live_series_keeps_its_colour_when_another_metric_arrives() -> None:
    # Given a live chart showing "loss" (the first series), to which "acc" is then appended
    # ("acc" sorts before "loss": a domain sorted by name would give it loss's colour)
    first = [{"series": "loss", "order": 0, "step": s, "value": 1.0} for s in range(3)]
    then = [{"series": "acc", "order": 1, "step": s, "value": 0.5} for s in range(3)]
    before = {**live_chart(), "data": {"name": "points", "values": first}}
    after = {**before, "usermeta": {"append": then}}
    got = run_in_vega({"before": before, "after": after})
    # Then loss keeps the first colour and acc takes the next
    assert got["after"]["colours"]["loss"] == got["before"]["colours"]["loss"]
    assert list(got["after"]["colours"]) == ["loss", "acc"]
    assert got["after"]["warnings"] == []


def test_the_table_hides_system_metrics_until_asked_and_shows_experiment_and_id(
    tmp_path: Path,
) -> None:
    # Given a run that logged system metrics beside its own
    with nbtrack.start_run(
        name="sys", experiment="e", store=tmp_path / "s", log_system_metrics=False
    ) as run:
        run.log_metric("loss", 0.5)
        run.log_metric("system/cpu_percent", 12.0)
    # When a table opens
    table = runs_table(store=tmp_path / "s")
    # Then experiment and the run id are shown and no system/ column is
    assert "experiment" in table.visible and "id" in table.visible
    assert "metrics.loss" in table.visible
    assert not [v for v in table.visible if v.startswith("metrics.system/")]
    assert {c["kind"] for c in table.columns if c["id"] == "id"} == {"id"}
    # When the user ticks "system metrics", Then their latest values show; unticked, they go
    table.show_system = True
    assert "metrics.system/cpu_percent" in table.visible
    table.show_system = False
    assert not [v for v in table.visible if v.startswith("metrics.system/")]


def test_the_environment_reads_as_a_person_would_say_it() -> None:
    env = {
        "python": {"version": "3.11.2", "implementation": "CPython", "executable": "/x/python"},
        "platform": {"system": "Linux", "release": "6.1", "machine": "x86_64", "platform": "L"},
        "cpu": {"count": 2, "model": "AMD EPYC"},
        "memory_total": 25275973632,
        "gpus": [],
        "packages": {"numpy": "2.1.0", "Altair": "6.3.0"},
        "nbtrack": {"hash_scheme": 2},
    }
    got = describe_environment(env)
    assert {r["label"]: r["value"] for r in got["rows"]} == {
        "Python": "CPython 3.11.2",
        "Interpreter": "/x/python",
        "Platform": "Linux 6.1 x86_64",
        "CPU": "2 × AMD EPYC",
        "Memory": "23.5 GiB",
        "GPUs": "none",
    }
    assert list(got["packages"]) == ["Altair", "numpy"]
    assert describe_environment(None) == {}
    assert human_size(512) == "512 B" and human_size(1536) == "1.5 KiB"


def test_the_run_view_has_no_chart_for_a_one_point_metric(tmp_path: Path) -> None:
    with nbtrack.start_run(name="r", store=tmp_path / "s", log_system_metrics=False) as run:
        run.log_metric("acc", 0.9)
        for s in range(3):
            run.log_metric("loss", 1 / (s + 1), step=s)
    view = run_view(run.id, store=tmp_path / "s")
    assert [c["title"]["text"] for c in view.charts] == ["loss"]
    assert "memory_total" not in json.dumps(view.environment)
    assert any(r["label"] == "Memory" for r in view.environment["rows"])


def test_a_one_point_series_is_marked_to_be_drawn_as_a_point(tmp_path: Path) -> None:
    from nbtrack.query.series import load_series
    from nbtrack.store import open_store
    from nbtrack.widgets.series import records

    with nbtrack.start_run(name="r", store=tmp_path / "s", log_system_metrics=False) as run:
        run.log_metric("acc", 0.9)
        run.log_metric("loss", 1.0, step=0)
        run.log_metric("loss", 0.5, step=1)
    rows, _ = records(load_series(open_store(tmp_path / "s"), [run.id], ["acc", "loss"]))
    assert [r.get("single", False) for r in rows if r["metric"] == "acc"] == [True]
    assert not [r for r in rows if r["metric"] == "loss" and "single" in r]
