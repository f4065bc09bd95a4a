"""Bokeh chart builders with the dashboard's look, and how a page ships them to the browser.

Pages build empty charts here and fill them from the browser with what the API returns, so
the page itself is small and every view change fetches only what it shows.
"""

from __future__ import annotations

import json
from html import escape

from bokeh.embed import json_item
from bokeh.models import (
    ColumnDataSource,
    CustomJS,
    CustomJSTickFormatter,
    FactorRange,
    HoverTool,
    NumeralTickFormatter,
    Range1d,
    TickFormatter,
)
from bokeh.models import Model as BokehModel

# From their own modules: the stubs of bokeh.models do not re-export these two.
from bokeh.models.annotations.geometry import Span
from bokeh.models.annotations.labels import LabelSet
from bokeh.plotting import figure

ACCENT = "#e76f51"
INK = "#1d2733"
MUTED = "#5b6776"
GRID = "#e6e9ee"

# Formats a tick with the page's own helper (dashboard.js), e.g. 1.25 GB.
BYTES_TICKS = "return window.kpiflow ? window.kpiflow.fmtBytes(tick) : String(tick);"


def tick_formatter(kind: str) -> TickFormatter:
    """`bytes` (kB/MB/GB, decimal) or `count` (thousands separators)."""
    if kind == "bytes":
        return CustomJSTickFormatter(code=BYTES_TICKS)
    return NumeralTickFormatter(format="0,0")


def _style(p: figure) -> None:
    p.outline_line_color = None
    p.background_fill_color = "#ffffff"
    p.border_fill_color = "#ffffff"
    p.xgrid.grid_line_color = GRID
    p.ygrid.grid_line_color = GRID
    for axis in (*p.xaxis, *p.yaxis):
        axis.axis_line_color = "#c3cad3"
        axis.major_tick_line_color = "#c3cad3"
        axis.minor_tick_line_color = None
        axis.major_label_text_color = INK
        axis.major_label_text_font_size = "12px"
        axis.axis_label_text_color = MUTED
        axis.axis_label_text_font_style = "normal"
        axis.axis_label_text_font_size = "12px"


def bar_chart(name: str, color: str, value_kind: str, value_label: str,
              on_tap: str) -> figure:
    """Horizontal bars, rank 1 on top, value labels at the bar ends, click selects a bar.

    Source columns: `label` (category), `value`, `text` (formatted value), `rank`, `id`.
    `on_tap` is JavaScript run with `indices` (the selected rows) when a bar is clicked.
    """
    source = ColumnDataSource(
        {"label": [], "value": [], "text": [], "rank": [], "id": []}, name=f"{name}-source")
    p = figure(
        name=name,
        y_range=FactorRange(name=f"{name}-factors"),
        x_range=Range1d(start=0, end=1, name=f"{name}-values"),  # the page sets it from the data
        height=330,
        sizing_mode="stretch_width",
        toolbar_location=None,
        tools="tap",
    )
    bars = p.hbar(
        y="label", right="value", height=0.72, source=source, color=color,
        selection_color=ACCENT, nonselection_fill_alpha=0.45, nonselection_line_alpha=0.45,
    )
    p.add_tools(HoverTool(renderers=[bars], tooltips=[
        ("", "@label"), (value_label, "@text"), ("rank", "@rank")]))
    p.add_layout(LabelSet(
        x="value", y="label", text="text", source=source, x_offset=5,
        text_baseline="middle", text_font_size="11px", text_color=MUTED,
    ))
    p.xaxis.formatter = tick_formatter(value_kind)
    p.xaxis.axis_label = value_label
    p.ygrid.grid_line_color = None
    _style(p)
    p.ygrid.grid_line_color = None
    p.min_border_left = 8
    source.selected.js_on_change("indices", CustomJS(code=on_tap.replace(
        "indices", "cb_obj.indices")))
    return p


def series_chart(name: str, color: str, value_kind: str, value_label: str) -> figure:
    """A time series with a min-max band and a marker line at the selected interval.

    Source `<name>-source` (one row per point): `t` (ms), `mean` (NaN = a break in the line),
    `dot` (a marker where NaN is none), `when` and `text` (tooltip). Source `<name>-band`:
    `x`, `y`, the band's polygons with NaN between them. `kpiflow.lineWithBreaks` and
    `kpiflow.bandWithBreaks` (dashboard.js) build both, so nothing is drawn across a gap.
    """
    source = ColumnDataSource(
        {"t": [], "mean": [], "dot": [], "when": [], "text": []}, name=f"{name}-source")
    band = ColumnDataSource({"x": [], "y": []}, name=f"{name}-band")
    p = figure(
        name=name,
        x_axis_type="datetime",
        x_range=Range1d(start=0, end=1, name=f"{name}-x"),  # the page sets both from the data
        y_range=Range1d(start=0, end=1, name=f"{name}-y"),
        height=250,
        sizing_mode="stretch_width",
        tools="xpan,xwheel_zoom,reset",
        toolbar_location="above",
        active_scroll=None,
    )
    p.toolbar.logo = None
    p.patch(x="x", y="y", source=band, fill_color=color, fill_alpha=0.18, line_color=None)
    line = p.line(x="t", y="mean", source=source, line_color=color, line_width=2)
    p.scatter(x="t", y="dot", source=source, size=4, color=color)
    p.add_tools(HoverTool(renderers=[line], mode="vline", tooltips=[
        ("time", "@when"), (value_label, "@text")]))
    p.add_layout(Span(location=float("nan"), dimension="height", line_color=ACCENT,
                      line_dash="dashed", line_width=1.5, name=f"{name}-marker"))
    p.yaxis.formatter = tick_formatter(value_kind)
    p.yaxis.axis_label = value_label
    p.xaxis.axis_label = "time (UTC)"
    _style(p)
    return p


def embed_data(element_id: str, model: BokehModel) -> str:
    """A `<script type="application/json">` holding the chart; `kpiflow.embed` draws it."""
    text = json.dumps(json_item(model)).replace("</", "<\\/")
    return f'<script type="application/json" id="{escape(element_id)}">{text}</script>'
