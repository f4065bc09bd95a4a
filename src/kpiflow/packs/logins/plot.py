"""The seed's plot, fixed: distinct users per period, the time axis named by the grain."""

from __future__ import annotations

from datetime import datetime

from bokeh.core.types import ID
from bokeh.embed import json_item
from bokeh.embed.standalone import StandaloneEmbedJson
from bokeh.models import (
    BasicTicker,
    ColumnDataSource,
    DataRange1d,
    HoverTool,
    NumeralTickFormatter,
)
from bokeh.models.annotations import Title
from bokeh.plotting import figure

from kpiflow.packs.logins.periods import NAMES, axis_label
from kpiflow.packs.logins.queries import Uniques

TARGET = "logins-plot"
COLOR = "#3b6fb6"


def plot_item(answer: Uniques) -> StandaloneEmbedJson:
    """A Bokeh `json_item` of the answer, to be embedded into the element `logins-plot`."""
    source = ColumnDataSource({
        "t": [datetime.combine(p.period, datetime.min.time()) for p in answer.periods],
        "users": [p.unique_users for p in answer.periods],
        "label": [p.period.isoformat() for p in answer.periods],
        "covered": [f"{p.days_covered}/{p.days_in_period}" for p in answer.periods],
    })
    week_end = answer.week_ends.removeprefix("W-")
    p = figure(
        title=Title(text=f"Unique users per {NAMES[answer.aggregate]}", align="left"),
        y_range=DataRange1d(start=0),
        x_axis_type="datetime", x_axis_label=f"{axis_label(answer.aggregate, week_end)} "
        f"(period end, {answer.timezone})", y_axis_label="unique users",
        sizing_mode="stretch_width", height=380, tools="xpan,xwheel_zoom,reset",
        toolbar_location="above", name="logins-figure")
    p.toolbar.logo = None
    p.line("t", "users", source=source, line_width=3, color=COLOR)
    dots = p.scatter("t", "users", source=source, size=6, color=COLOR)
    p.add_tools(HoverTool(renderers=[dots], tooltips=[
        ("period ending", "@label"), ("unique users", "@users{0,0}"), ("days", "@covered")]))
    p.yaxis.formatter = NumeralTickFormatter(format="0,0")
    p.yaxis[0].ticker = BasicTicker(min_interval=1)  # users are whole: no 2.5 tick
    return json_item(p, ID(TARGET))
