"""The Hosts dashboard page: hosts, top processes, live alarms, one process's history chart."""

from __future__ import annotations

from pathlib import Path

from kpiflow.dashboard.page import PageContent, PageContext

SCRIPT = (Path(__file__).parent / "static" / "hosts.js").read_text()

BODY = """
<div class="page-head">
  <h1>Hosts</h1>
  <p class="hint" id="hosts-status" role="status" aria-live="polite">&nbsp;</p>
</div>
<section class="panel">
  <h2>Alarms <span class="hint">(refreshed in place by Auto-refresh, top right)</span></h2>
  <table id="alarms"><thead><tr><th>state</th><th>host</th><th>process</th><th>pid</th>
    <th>resource</th><th>value</th><th>slope / min</th><th>R²</th><th>samples</th>
    <th>predicted crossing (UTC)</th></tr></thead><tbody></tbody></table>
  <p class="hint" id="no-alarms" hidden>No process is in alarm.</p>
</section>
<section class="panel">
  <h2>Hosts</h2>
  <table id="hosts"><thead><tr><th>host</th><th>IP</th><th>cores</th><th>last seen (UTC)</th>
    <th>samples / s</th></tr></thead><tbody></tbody></table>
</section>
<section class="panel">
  <h2>Top processes (last 5 minutes)</h2>
  <div class="split">
    <table id="top-cpu"><caption>by CPU %</caption><thead><tr><th>host</th><th>process</th>
      <th>pid</th><th>cpu %</th></tr></thead><tbody></tbody></table>
    <table id="top-mem"><caption>by memory %</caption><thead><tr><th>host</th><th>process</th>
      <th>pid</th><th>mem %</th></tr></thead><tbody></tbody></table>
  </div>
  <p class="hint">Click a process to chart its history.</p>
</section>
<section class="panel">
  <h2 id="history-title">History</h2>
  <div id="history-chart"></div>
</section>
"""


def overview(ctx: PageContext) -> PageContent:
    """The Hosts page; the browser reads /api/v1/hosts/* and refreshes it in place."""
    return PageContent(BODY, scripts=(SCRIPT,), bokeh=True)
