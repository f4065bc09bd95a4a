"""The Network dashboard page: top services and cells of one interval, one id across a range."""

from __future__ import annotations

import json
from functools import lru_cache
from html import escape
from pathlib import Path

from kpiflow.dashboard.charts import bar_chart, embed_data, series_chart
from kpiflow.dashboard.page import PageContent, PageContext

SCRIPT = (Path(__file__).parent / "static" / "network.js").read_text()
SERVICES = "#3b6fb6"
CELLS = "#2a8a7e"


def _tap(kind: str) -> str:
    return f"if (window.kpiflowNetwork) window.kpiflowNetwork.tapped('{kind}', indices);"


def _column(kind: str, title: str, what: str) -> str:
    return f"""
<section class="panel chart-panel" id="{kind}-panel">
  <h2>{escape(title)}</h2>
  <div class="chart" id="{kind}-bar"></div>
  <h3 class="series-title" id="{kind}-series-title">&nbsp;</h3>
  <p class="hint series-note" id="{kind}-series-note">Click a bar to see that {what} across the
    range.</p>
  <div class="chart" id="{kind}-series"></div>
</section>"""


@lru_cache(maxsize=1)
def _charts() -> str:
    """The four empty charts as JSON (built once: Bokeh takes ~0.2 s to build them)."""
    charts = {
        "services-bar": bar_chart("services-bar", SERVICES, "bytes", "traffic",
                                  _tap("services")),
        "cells-bar": bar_chart("cells-bar", CELLS, "count", "unique users", _tap("cells")),
        "services-series": series_chart("services-series", SERVICES, "bytes", "traffic"),
        "cells-series": series_chart("cells-series", CELLS, "count", "unique users"),
    }
    return "".join(embed_data(f"chart-{key}", model) for key, model in charts.items())


def overview(ctx: PageContext) -> PageContent:
    """The Network page; the browser fetches each view's data from /api/v1/network/."""
    top_n = getattr(ctx.runtime.pack_settings.get("network"), "top_n", 10)
    data = _charts()
    config = json.dumps({"topN": top_n}).replace("</", "<\\/")
    body = f"""
<div class="page-head">
  <h1>Network</h1>
  <p class="hint" id="network-status" role="status" aria-live="polite">Loading…</p>
</div>
<section class="panel controls-panel">
  <form class="controls" id="range-form" autocomplete="off" novalidate>
    <label>Interval
      <select id="interval">
        <option value="5">5 minutes</option>
        <option value="60">1 hour</option>
      </select></label>
    <label>From (UTC) <input type="text" id="from" required size="16"
      placeholder="YYYY-MM-DD HH:MM" pattern="\\d{{4}}-\\d{{2}}-\\d{{2}}[ T]\\d{{1,2}}:\\d{{2}}"></label>
    <label>To (UTC) <input type="text" id="to" required size="16"
      placeholder="YYYY-MM-DD HH:MM" pattern="\\d{{4}}-\\d{{2}}-\\d{{2}}[ T]\\d{{1,2}}:\\d{{2}}"></label>
    <button type="submit" class="primary" id="apply">Show</button>
    <div class="presets" role="group" aria-label="quick ranges">
      <span>Last</span>
      <button type="button" data-hours="6">6 h</button>
      <button type="button" data-hours="24">24 h</button>
      <button type="button" data-hours="168">7 d</button>
      <button type="button" data-hours="720">30 d</button>
      <button type="button" data-hours="0">all</button>
    </div>
  </form>
  <p class="hint" id="range-info">&nbsp;</p>
</section>
<section class="panel stepper-panel">
  <div class="stepper">
    <button type="button" id="prev" title="previous interval">◀ Previous</button>
    <input type="range" id="position" min="0" max="0" value="0" aria-label="interval">
    <button type="button" id="next" title="next interval">Next ▶</button>
    <button type="button" id="latest">Latest</button>
  </div>
  <div class="current" id="current">
    <span class="utc" id="current-utc">&nbsp;</span>
    <span class="local" id="current-local">&nbsp;</span>
  </div>
</section>
<div class="grid2">
{_column("services", f"Top {top_n} services by traffic", "service's traffic")}
{_column("cells", f"Top {top_n} cells by unique users", "cell's unique users")}
</div>
<script type="application/json" id="network-config">{config}</script>
{data}
"""
    return PageContent(body, scripts=(SCRIPT,), bokeh=True)
