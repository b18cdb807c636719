"""Chart tooltips name the run and the metric (issue #18, finding 11): the metric chart's spec,
compiled by the very vega-lite the widgets bundle, reads every tooltip field of the hovered
point from the same datum, including in the voronoi layer of the nearest-point selection
(where the point is ``datum.datum``; vega-lite 6 reads unformatted fields from ``datum``)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from nbtrack.widgets.specs import line_chart

WIDGETS_JS = Path(__file__).resolve().parents[2] / "widgets-js"
COMPILE = """
import * as vl from 'vega-lite';
import fs from 'fs';
const spec = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(vl.compile(spec).spec));
"""


def compiled(spec: dict) -> str:
    if shutil.which("node") is None or not (WIDGETS_JS / "node_modules" / "vega-lite").is_dir():
        pytest.skip("node and widgets-js/node_modules (npm ci in widgets-js) are needed")
    script = WIDGETS_JS / ".compile-tooltip-test.mjs"
    script.write_text(COMPILE)
    try:
        done = subprocess.run(
            ["node", str(script)],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            cwd=WIDGETS_JS,
        )
    finally:
        script.unlink()
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("metrics", "x", "smoothing"),
    [(["loss"], "step", 0.0), (["acc", "loss"], "time", 0.5)],
)
def test_the_tooltip_of_the_nearest_point_reads_run_and_metric_from_the_point(
    metrics, x, smoothing
):
    rows = [
        {"run": "baseline", "run_id": "1" * 32, "metric": m, "x": i, "value": float(i)}
        for m in metrics
        for i in range(3)
    ]
    vega = compiled(line_chart(rows, metrics, x=x, smoothing=smoothing))
    signals = [
        json.loads(f'"{m}"') for m in re.findall(r'"tooltip":\{"signal":"((?:[^"\\]|\\.)*)"', vega)
    ]
    assert len(signals) == 2  # the points, and the voronoi cells of the nearest selection
    voronoi = next(s for s in signals if "datum.datum" in s)
    for field in ("run", "metric", "x", "value"):
        assert f'datum.datum["{field}"]' in voronoi, voronoi
        assert f'datum["{field}"]' not in voronoi.replace("datum.datum", ""), voronoi
