"""Vega-lite specs of runs: metric lines and the live chart (the compare charts are built for
the widget and the sidebar alike in :mod:`nbtrack.query.comparecharts`).

Written as plain vega-lite JSON (the schema Altair 5/6 emits) so a widget draws without
importing Altair, whose import can take seconds (jsonschema format checkers);
:func:`to_altair` turns any of them into an Altair chart for reports.
"""

from __future__ import annotations

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
                # shown where hovered, and always for a series of one point (``single``:
                # a line through one point draws nothing)
                "opacity": {
                    "condition": [
                        {"param": "hover", "empty": False, "value": 1},
                        {"test": "datum.single === true", "value": 1},
                    ],
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
