"""Vega-lite specs of runs: metric lines, parallel coordinates, scatter, and the live chart.

Written as plain vega-lite JSON (the schema Altair 5/6 emits) so a widget draws without
importing Altair, whose import can take seconds (jsonschema format checkers);
:func:`to_altair` turns any of them into an Altair chart for reports.
"""

from __future__ import annotations

import math
from typing import Any

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.4.1.json"  # an id, never fetched
X_TITLES = {"step": "step", "time": "time", "relative": "seconds since run start"}
LIVE_DATASET = "points"
NUM_FORMAT = ",.6~g"
_LEGEND = {"orient": "bottom", "columns": 3, "labelLimit": 260}


def to_altair(spec: dict[str, Any]) -> Any:
    """An Altair chart object of a spec made here."""
    import altair as alt

    cls = alt.FacetChart if "facet" in spec else alt.LayerChart if "layer" in spec else alt.Chart
    return cls.from_dict(spec, validate=False)


def line_chart(
    rows: list[dict[str, Any]],
    metrics: list[str],
    x: str = "step",
    smoothing: float = 0.0,
    log_scale: bool = False,
    notes: list[str] | None = None,
    width: int = 520,
    height: int = 260,
    legend: bool = True,
) -> dict[str, Any]:
    """One line per run (colour), one panel per metric; hover shows the values at the pointer.

    ``legend=False`` for a chart of one run (the run view), whose legend would say nothing."""
    x_enc = {
        "field": "x",
        "type": "temporal" if x == "time" else "quantitative",
        "title": X_TITLES[x],
    }
    y_scale = {"type": "log"} if log_scale else {"zero": False}
    colour = {
        "field": "run",
        "type": "nominal",
        "title": "run",
        "legend": _LEGEND if legend else None,
    }
    value = "smoothed" if smoothing > 0 else "value"
    # "format": "" on text fields: vega-lite reads the hovered point of a nearest selection (its
    # voronoi cell's datum.datum) only for fields with a format; without one they show "undefined"
    tooltip = [
        {"field": "run", "type": "nominal", "format": ""},
        {"field": "metric", "type": "nominal", "format": ""},
        {**x_enc, **({} if x == "time" else {"format": NUM_FORMAT})},
        {"field": "value", "type": "quantitative", "format": NUM_FORMAT},
    ]
    if smoothing > 0:
        tooltip.append({"field": "smoothed", "type": "quantitative", "format": NUM_FORMAT})

    def y(field: str) -> dict[str, Any]:
        return {"field": field, "type": "quantitative", "scale": y_scale, "title": None}

    layers: list[dict[str, Any]] = []
    if smoothing > 0:
        layers.append(
            {
                "mark": {"type": "line", "opacity": 0.25, "strokeWidth": 1},
                "encoding": {"x": x_enc, "y": y("value"), "color": colour},
            }
        )
    layers.append(
        {
            "mark": {"type": "line", "strokeWidth": 1.6},
            "encoding": {"x": x_enc, "y": y(value), "color": colour},
        }
    )
    layers.append(
        {
            "params": [
                {
                    "name": "hover",
                    "select": {
                        "type": "point",
                        "fields": ["x"],
                        "nearest": True,
                        "on": "pointerover",
                        "clear": "pointerout",
                    },
                }
            ],
            "mark": {"type": "point", "filled": True, "size": 40},
            "encoding": {
                "x": x_enc,
                "y": y(value),
                "color": colour,
                "opacity": {
                    "condition": {"param": "hover", "empty": False, "value": 1},
                    "value": 0,
                },
                "tooltip": tooltip,
            },
        }
    )
    # the hover rule: every point's rule, shown only for the hovered x (a filter transform
    # would leave the layer's data empty, and vega warns of the x scale's "Infinite extent")
    layers.append(
        {
            "mark": {"type": "rule", "color": "gray"},
            "encoding": {
                "x": x_enc,
                "opacity": {
                    "condition": {"param": "hover", "empty": False, "value": 0.4},
                    "value": 0,
                },
            },
        }
    )
    title: dict[str, Any] = {"text": metrics[0] if len(metrics) == 1 else "", "anchor": "start"}
    if notes:
        title["subtitle"] = notes
    spec: dict[str, Any] = {"$schema": SCHEMA, "data": {"values": rows}, "title": title}
    inner = {"width": width, "height": height, "layer": layers}
    if len(metrics) > 1:
        spec.update(
            facet={"field": "metric", "type": "nominal", "title": None},
            columns=2,
            spec=inner,
            resolve={"scale": {"y": "independent"}},
        )
    else:
        spec.update(inner)
    return spec


def live_chart(log_scale: bool = False, width: int = 520, height: int = 240) -> dict[str, Any]:
    """A line chart over the named dataset ``points`` that the front end appends to.

    Colours follow each series' ``order`` (the kernel numbers series as they first arrive), so
    a metric keeps its colour when another one arrives; the layout is recomputed on every
    update (``resize``), so axis labels and legend entries that arrive with data stay inside
    the chart. The front end embeds it only once it has points (an empty dataset has an
    infinite extent, which vega warns about).
    """
    enc = {
        "x": {"field": "step", "type": "quantitative", "title": "step"},
        "y": {
            "field": "value",
            "type": "quantitative",
            "scale": {"type": "log"} if log_scale else {"zero": False},
            "title": None,
        },
        "color": {
            "field": "series",
            "type": "nominal",
            "title": None,
            "sort": {"field": "order", "op": "min", "order": "ascending"},
            "legend": _LEGEND,
        },
    }
    tooltip = [
        {"field": "series", "type": "nominal"},
        {"field": "step", "type": "quantitative"},
        {"field": "value", "type": "quantitative", "format": NUM_FORMAT},
    ]
    return {
        "$schema": SCHEMA,
        "data": {"name": LIVE_DATASET},
        "width": width,
        "height": height,
        "autosize": {"type": "pad", "resize": True},
        "layer": [
            {"mark": {"type": "line", "strokeWidth": 1.6}, "encoding": enc},
            {
                "mark": {"type": "point", "size": 30, "opacity": 0},
                "encoding": {**enc, "tooltip": tooltip},
            },
        ],
    }


def parallel_coordinates(
    runs: list[dict[str, Any]], axes: list[str], colour_by: str | None
) -> dict[str, Any]:
    """Parallel coordinates of ``axes`` (``params.k`` / ``metrics.k``), each scaled to [0, 1].

    Numeric axes are scaled by min/max; text-valued axes place their sorted values evenly.
    """
    rows = []
    scales = {a: _axis_scale([value_of(r, a) for r in runs]) for a in axes}
    for r in runs:
        colour = _num(value_of(r, colour_by)) if colour_by else None
        for a in axes:
            raw = value_of(r, a)
            pos = scales[a](raw)
            if pos is not None:
                rows.append(
                    {
                        "run": _label(r),
                        "axis": a,
                        "pos": pos,
                        "raw": "" if raw is None else str(raw),
                        "colour": colour,
                    }
                )
    if colour_by and any(r["colour"] is not None for r in rows):
        # runs without the colour metric are drawn grey, not dropped
        colour_enc: dict[str, Any] = {
            "field": "colour",
            "type": "quantitative",
            "title": colour_by,
            "scale": {"scheme": "viridis"},
            "condition": {"test": "!isValid(datum['colour'])", "value": "#9e9e9e"},
        }
    else:
        colour_enc = {"field": "run", "type": "nominal", "legend": None}
    enc = {
        "x": {
            "field": "axis",
            "type": "nominal",
            "sort": axes,
            "title": None,
            "axis": {
                "labelAngle": 0,
                "domain": False,
                "ticks": False,
                "grid": True,
                "labelLimit": 140,
            },
        },
        "y": {"field": "pos", "type": "quantitative", "axis": None, "scale": {"domain": [0, 1]}},
        "detail": {"field": "run", "type": "nominal"},
        "color": colour_enc,
        "tooltip": [
            {"field": "run", "type": "nominal"},
            {"field": "axis", "type": "nominal"},
            {"field": "raw", "type": "nominal", "title": "value"},
        ],
    }
    return {
        "$schema": SCHEMA,
        "data": {"values": rows},
        "width": max(320, 110 * len(axes)),
        "height": 260,
        "layer": [
            {"mark": {"type": "line", "opacity": 0.7}, "encoding": enc},
            {"mark": {"type": "point", "filled": True, "size": 30}, "encoding": enc},
        ],
        "config": {"mark": {"invalid": "show"}},
    }


def scatter(runs: list[dict[str, Any]], x_field: str, y_field: str) -> dict[str, Any]:
    """One point per run: ``x_field`` against ``y_field`` (``params.k`` or ``metrics.k``)."""
    rows = []
    for r in runs:
        xv, yv = value_of(r, x_field), _num(value_of(r, y_field))
        rows.append({"run": _label(r), "x": _num(xv) if _num(xv) is not None else xv, "y": yv})
    numeric_x = all(isinstance(r["x"], (int, float)) or r["x"] is None for r in rows)
    rows = [r for r in rows if r["x"] is not None and r["y"] is not None]
    x_enc: dict[str, Any] = {
        "field": "x",
        "type": "quantitative" if numeric_x else "nominal",
        "title": x_field,
    }
    if numeric_x:
        x_enc["scale"] = {"zero": False}
    return {
        "$schema": SCHEMA,
        "data": {"values": rows},
        "width": 420,
        "height": 300,
        "mark": {"type": "point", "filled": True, "size": 80},
        "encoding": {
            "x": x_enc,
            "y": {"field": "y", "type": "quantitative", "title": y_field, "scale": {"zero": False}},
            "color": {"field": "run", "type": "nominal", "legend": _LEGEND},
            "tooltip": [
                {"field": "run", "type": "nominal"},
                {**x_enc, "title": x_field},
                {"field": "y", "type": "quantitative", "title": y_field, "format": NUM_FORMAT},
            ],
        },
    }


def value_of(run: dict[str, Any], field: str | None) -> Any:
    """``params.k`` / ``metrics.k`` / ``tags.k`` of a run summary (``None`` when absent)."""
    if not field or "." not in field:
        return None
    group, key = field.split(".", 1)
    return run.get(group, {}).get(key)


def _label(run: dict[str, Any]) -> str:
    return f"{run['name']} ({run['id'][:7]})"


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _axis_scale(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    nums = [_num(v) for v in present]
    if present and all(n is not None for n in nums):
        lo, hi = min(n for n in nums if n is not None), max(n for n in nums if n is not None)

        def scale(v: Any) -> float | None:
            n = _num(v)
            return None if n is None else (0.5 if hi == lo else (n - lo) / (hi - lo))

        return scale
    cats = sorted({str(v) for v in present})
    pos = {c: (i / (len(cats) - 1) if len(cats) > 1 else 0.5) for i, c in enumerate(cats)}
    return lambda v: None if v is None else pos.get(str(v))
