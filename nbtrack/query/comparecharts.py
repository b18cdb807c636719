"""Charts of compared runs as vega-lite specs: the metric overlay, parallel coordinates and a
param-vs-metric scatter. Built here once for both views that compare runs: the compare widget
and the sidebar's Compare (through the server's ``/compare``).

Every spec has a finite domain on every scale (a metric with one point, or one value across the
runs, gets a padded one), so vega never meets an empty or infinite extent; a chart with nothing
to draw is ``{}`` and its reason is in ``messages``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nbtrack.errors import ValidationError
from nbtrack.query.downsample import DEFAULT_POINTS, downsample_indices
from nbtrack.query.series import load_series, run_label

if TYPE_CHECKING:
    from nbtrack.store import Store

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.4.1.json"  # an id, never fetched
NUM_FORMAT = ",.6~g"
LOG_SPAN = 100.0  # positive values spanning this ratio or more get a log axis
_LEGEND = {"orient": "bottom", "columns": 2, "labelLimit": 240, "title": None}
_TICK_TEXT = {"fontSize": 10, "color": "#888"}
# A text style drawn under labels that sit on lines; a front end may set its stroke to its own
# background colour (the sidebar does, for the dark theme)
HALO = "nbtrack-halo"
_HALO = {"stroke": "white", "strokeWidth": 3, "strokeJoin": "round", "strokeOpacity": 0.9}


def chart_options(runs: list[dict[str, Any]], counts: dict[str, int]) -> dict[str, Any]:
    """What the charts can show and their defaults: ``{"metrics", "fields", "metric", "x", "y"}``.

    ``runs`` are run summaries (params, metrics); ``counts`` the most points any run has of each
    metric. The default metric is the one with the most steps (ties: by name), ``x`` the first
    numeric param that differs between the runs, ``y`` the default metric.
    """
    metrics = sorted({k for r in runs for k in r["metrics"] if not k.startswith("system/")})
    params = sorted({k for r in runs for k in r["params"]})
    fields = [f"params.{p}" for p in params] + [f"metrics.{m}" for m in metrics]
    metric = min(metrics, key=lambda m: (-counts.get(m, 0), m)) if metrics else ""
    numeric = [
        f"params.{p}" for p in params if _numeric([value_of(r, f"params.{p}") for r in runs])
    ]
    differing = [f for f in numeric if len({str(value_of(r, f)) for r in runs}) > 1]
    x = (differing or numeric or fields or [""])[0]
    y = f"metrics.{metric}" if metric else (fields or [""])[-1]
    return {"metrics": metrics, "fields": fields, "metric": metric, "x": x, "y": y}


def compare_charts(
    store: Store,
    runs: list[dict[str, Any]],
    *,
    metric: str | None = None,
    x: str | None = None,
    y: str | None = None,
) -> dict[str, Any]:
    """The three charts of ``runs`` (run summaries, in the order compared):
    ``{"options", "overlay", "parallel", "scatter", "messages": {chart: text}}``.

    ``metric`` (overlay, parallel coordinates' colour), ``x`` and ``y`` (scatter) default to
    :func:`chart_options`'s choices; a name that none of the runs has is a ValidationError.
    """
    counts: dict[str, int] = {}
    for r in runs:
        for key, summary in store.metric_summary(r["id"]).items():
            counts[key] = max(counts.get(key, 0), int(summary.get("count") or 0))
    options = chart_options(runs, counts)
    for name, value, allowed in (
        ("metric", metric, options["metrics"]),
        ("x", x, options["fields"]),
        ("y", y, options["fields"]),
    ):
        if value and value not in allowed:
            raise ValidationError(
                f"{name} {value!r} is not a field of these runs; one of: {', '.join(allowed)}"
            )
    options = {
        **options,
        "metric": metric or options["metric"],
        "x": x or options["x"],
        "y": y or options["y"],
    }
    messages: dict[str, str] = {}
    out: dict[str, Any] = {"options": options, "messages": messages}
    m = options["metric"]
    out["overlay"] = overlay(store, [r["id"] for r in runs], m) if m else {}
    if not out["overlay"]:
        messages["overlay"] = f"No run has points of {m}." if m else "These runs have no metrics."
    axes = [f"params.{p}" for p in sorted({k for r in runs for k in r["params"]})]
    axes = [a for a in axes if len({str(value_of(r, a)) for r in runs}) > 1] or axes
    colour = f"metrics.{m}" if m else None
    out["parallel"] = parallel_coordinates(runs, axes + ([colour] if colour else []), colour)
    if not out["parallel"]:
        messages["parallel"] = "These runs have no params or metrics."
    out["scatter"] = scatter(runs, options["x"], options["y"]) if options["x"] else {}
    if not out["scatter"]:
        messages["scatter"] = (
            f"No run has both {options['x']} and {options['y']}."
            if options["x"]
            else "These runs have no params or metrics."
        )
    return out


def overlay(
    store: Store, run_ids: list[str], metric: str, width: int = 520, height: int = 260
) -> dict[str, Any]:
    """One line per run of ``metric`` against its step, downsampled by the one downsampler."""
    data = load_series(store, run_ids, [metric])
    rows: list[dict[str, Any]] = []
    longest = 0
    for s in data.series:
        finite = np.isfinite(s.value)
        steps, values = s.step[finite], s.value[finite]
        if steps.size > DEFAULT_POINTS:
            keep = downsample_indices(steps, values, DEFAULT_POINTS)
            steps, values = steps[keep], values[keep]
        longest = max(longest, int(steps.size))
        rows += [
            {"run": s.run_label, "step": float(a), "value": float(b)}
            for a, b in zip(steps.tolist(), values.tolist(), strict=True)
        ]
    if not rows:
        return {}
    few = longest <= 50  # short series show their points
    x_enc: dict[str, Any] = {
        "field": "step",
        "type": "quantitative",
        "title": "step",
        "scale": {"domain": _domain([r["step"] for r in rows], whole=True), "nice": False},
        "axis": {"tickMinStep": 1, "format": ",~r"},
    }
    y_enc: dict[str, Any] = {
        "field": "value",
        "type": "quantitative",
        "title": metric,
        "scale": {"domain": _domain([r["value"] for r in rows])},
        "axis": {"format": NUM_FORMAT},
    }
    colour = {"field": "run", "type": "nominal", "legend": _LEGEND}
    tooltip = [
        {"field": "run", "type": "nominal"},
        {"field": "step", "type": "quantitative", "format": ",~r"},
        {"field": "value", "type": "quantitative", "format": NUM_FORMAT, "title": metric},
    ]
    return {
        "$schema": SCHEMA,
        "data": {"values": rows},
        "width": width,
        "height": height,
        "title": {
            "text": metric,
            "anchor": "start",
            **({"subtitle": "one point per run"} if longest == 1 else {}),
        },
        "encoding": {"x": x_enc, "y": y_enc, "color": colour},
        "layer": [
            {"mark": {"type": "line", "strokeWidth": 1.6}},
            {
                "mark": {"type": "point", "filled": True, "size": 36, "opacity": 1 if few else 0},
                "encoding": {"tooltip": tooltip},
            },
        ],
    }


def parallel_coordinates(
    runs: list[dict[str, Any]], axes: list[str], colour_by: str | None
) -> dict[str, Any]:
    """Parallel coordinates of ``axes`` (``params.k`` / ``metrics.k``), each scaled to [0, 1]
    and labelled with its values: numbers spanning two decades or more on a log scale, text
    values placed evenly in sorted order."""
    if not axes or not runs:
        return {}
    rows: list[dict[str, Any]] = []
    ticks: list[dict[str, Any]] = []
    names: list[str] = []
    for a in axes:
        axis = _Axis([value_of(r, a) for r in runs])
        name = f"{a} (log)" if axis.log else a
        names.append(name)
        first = not names[:-1]  # its labels go left of it: the lines leave it to the right
        ticks += [{"axis": name, "pos": p, "label": t, "first": first} for p, t in axis.ticks()]
        for r in runs:
            raw = value_of(r, a)
            pos = axis.position(raw)
            if pos is not None:
                colour = _num(value_of(r, colour_by)) if colour_by else None
                rows.append(
                    {"run": _label(r), "axis": name, "pos": pos, "raw": str(raw), "colour": colour}
                )
    if not rows:
        return {}
    if colour_by and any(r["colour"] is not None for r in rows):
        # runs without the colour metric are drawn grey, not dropped
        colour_enc: dict[str, Any] = {
            "field": "colour",
            "type": "quantitative",
            "title": colour_by,
            "scale": {
                # mid-range viridis: no pale yellow on white, no near-black on the dark theme
                "scheme": {"name": "viridis", "extent": [0.25, 0.85]},
                "domain": _domain([r["colour"] for r in rows if r["colour"] is not None]),
            },
            "legend": {"format": NUM_FORMAT, "gradientLength": 120},
            "condition": {"test": "!isValid(datum['colour'])", "value": "#9e9e9e"},
        }
    else:
        colour_enc = {"field": "run", "type": "nominal", "legend": _LEGEND}
    x_enc = {
        "field": "axis",
        "type": "nominal",
        "sort": names,
        "title": None,
        "scale": {"domain": names},
        "axis": {
            "labelAngle": 0,
            "domain": False,
            "ticks": False,
            "grid": True,
            "labelLimit": 120,
            "labelPadding": 8,
        },
    }
    y_enc = {"field": "pos", "type": "quantitative", "axis": None, "scale": {"domain": [0, 1]}}
    enc = {
        "x": x_enc,
        "y": y_enc,
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
        "width": max(360, 130 * len(axes)),
        "height": 260,
        "data": {"values": rows},
        "layer": [
            {"mark": {"type": "line", "opacity": 0.85}, "encoding": enc},
            {"mark": {"type": "point", "filled": True, "size": 30}, "encoding": enc},
            *[
                {
                    # the axes' value labels, over a halo, beside the axis on the side its
                    # lines do not take (left of the first axis, right of the others)
                    "data": {"values": [t for t in ticks if t["first"] == first]},
                    "mark": {
                        "type": "text",
                        "align": "right" if first else "left",
                        "dx": -5 if first else 5,
                        **_TICK_TEXT,
                        **style,
                    },
                    "encoding": {
                        "x": x_enc,
                        "y": y_enc,
                        "text": {"field": "label", "type": "nominal"},
                    },
                }
                for first in (True, False)
                for style in ({"style": HALO}, {})
                if any(t["first"] == first for t in ticks)
            ],
        ],
        "config": {"mark": {"invalid": "show"}, "style": {HALO: _HALO}},
    }


def scatter(runs: list[dict[str, Any]], x_field: str, y_field: str) -> dict[str, Any]:
    """One point per run: ``x_field`` against ``y_field`` (``params.k`` or ``metrics.k``);
    the axes are padded so no point sits on the edge, numbers spanning decades on a log scale."""
    raw = [(r, value_of(r, x_field), _num(value_of(r, y_field))) for r in runs]
    numeric_x = _numeric([xv for _, xv, _ in raw])
    rows: list[dict[str, Any]] = [
        {"run": _label(r), "x": _num(xv) if numeric_x else str(xv), "y": yv}
        for r, xv, yv in raw
        if xv is not None and yv is not None
    ]
    if not rows:
        return {}
    x_enc: dict[str, Any] = {"field": "x", "title": x_field}
    if numeric_x:
        scale = _padded_scale([r["x"] for r in rows])
        axis: dict[str, Any] = {"format": "~g"}
        if scale.get("type") == "log":  # a tick and grid line a decade, not at every 2..9
            lo, hi = (math.log10(v) for v in scale["domain"])
            axis["values"] = [10.0**k for k in range(math.ceil(lo), math.floor(hi) + 1)]
        x_enc |= {"type": "quantitative", "scale": scale, "axis": axis}
    else:
        x_enc |= {"type": "nominal", "sort": "ascending", "axis": {"labelLimit": 120}}
    y_enc = {
        "field": "y",
        "type": "quantitative",
        "title": y_field,
        "scale": _padded_scale([r["y"] for r in rows]),
        "axis": {"format": NUM_FORMAT},
    }
    return {
        "$schema": SCHEMA,
        "data": {"values": rows},
        "width": 420,
        "height": 300,
        "mark": {"type": "point", "filled": True, "size": 90},
        "encoding": {
            "x": x_enc,
            "y": y_enc,
            "color": {"field": "run", "type": "nominal", "legend": _LEGEND},
            "tooltip": [
                {"field": "run", "type": "nominal"},
                {"field": "x", "type": x_enc["type"], "title": x_field},
                {"field": "y", "type": "quantitative", "title": y_field, "format": NUM_FORMAT},
            ],
        },
    }


def value_of(run: dict[str, Any], field: str | None) -> Any:
    """``params.k`` / ``metrics.k`` / ``tags.k`` of a run summary (``None`` when absent)."""
    if not field or "." not in field:
        return None
    group, key = field.split(".", 1)
    values = run.get(group) or {}
    return values.get(key) if isinstance(values, dict) else None


class _Axis:
    """One parallel-coordinates axis: where each value sits in [0, 1] and its tick labels."""

    def __init__(self, values: list[Any]) -> None:
        present = [v for v in values if v is not None]
        nums = [_num(v) for v in present]
        self.numeric = bool(present) and all(n is not None for n in nums)
        finite = [n for n in nums if n is not None]
        self.lo, self.hi = (min(finite), max(finite)) if finite else (0.0, 0.0)
        self.log = self.numeric and self.lo > 0 and self.hi / self.lo >= LOG_SPAN
        self.cats = [] if self.numeric else sorted({str(v) for v in present})

    def _t(self, n: float) -> float:
        return math.log10(n) if self.log else n

    def position(self, v: Any) -> float | None:
        if v is None:
            return None
        if not self.numeric:
            if str(v) not in self.cats:
                return None
            i = self.cats.index(str(v))
            return i / (len(self.cats) - 1) if len(self.cats) > 1 else 0.5
        n = _num(v)
        if n is None:
            return None
        lo, hi = self._t(self.lo), self._t(self.hi)
        return 0.5 if hi == lo else (self._t(n) - lo) / (hi - lo)

    def ticks(self) -> list[tuple[float, str]]:
        if not self.numeric:
            return [(p, c) for c in self.cats if (p := self.position(c)) is not None]
        if self.lo == self.hi:
            return [(0.5, _fmt(self.lo))]
        inner: list[float] = [(self.lo + self.hi) / 2]
        if self.log:
            first, last = math.ceil(math.log10(self.lo)), math.floor(math.log10(self.hi))
            inner = [10.0**k for k in range(first, last + 1)]
        out = [(0.0, _fmt(self.lo)), (1.0, _fmt(self.hi))]
        for v in inner:
            p = self.position(v)
            # between the ends, no label closer than 7% of the axis to another
            if p is not None and all(abs(p - q) >= 0.07 for q, _ in out):
                out.append((p, _fmt(v)))
        return sorted(out)


def _padded_scale(values: list[float]) -> dict[str, Any]:
    """A scale whose domain keeps every value away from the edges (8% of the span each side)."""
    positive = [v for v in values if v > 0]
    if len(positive) == len(values) and max(values) / min(values) >= LOG_SPAN:
        lo, hi = math.log10(min(values)), math.log10(max(values))
        pad = (hi - lo) * 0.08
        return {"type": "log", "domain": [10 ** (lo - pad), 10 ** (hi + pad)], "nice": False}
    lo, hi = _domain(values)
    pad = (hi - lo) * 0.08 if max(values) > min(values) else 0.0
    return {"domain": [lo - pad, hi + pad], "nice": False, "zero": False}


def _domain(values: list[float], whole: bool = False) -> list[float]:
    """``[min, max]`` of ``values``; a single value gets room around it (one step when
    ``whole``, else 5% of its size or 1 at zero), so a one-point series draws in the middle."""
    lo, hi = min(values), max(values)
    if hi > lo:
        return [lo, hi]
    pad = 1.0 if whole or lo == 0 else abs(lo) * 0.05
    return [lo - pad, hi + pad]


def _label(run: dict[str, Any]) -> str:
    return run_label(run)


def _numeric(values: list[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(_num(v) is not None for v in present)


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _fmt(v: float) -> str:
    return f"{v:.4g}"
