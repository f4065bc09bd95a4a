"""The Logins dashboard page (`/usage/login`, the seed's page): the plot and its controls."""

from __future__ import annotations

from datetime import timedelta
from html import escape
from pathlib import Path

from pydantic import ValidationError

from kpiflow.dashboard.page import PageContent, PageContext
from kpiflow.packs.logins.api import DEFAULT_DAYS, UniquesQuery, settings_of
from kpiflow.packs.logins.periods import NAMES, Grain
from kpiflow.packs.logins.pipeline import today

SCRIPT = (Path(__file__).parent / "static" / "logins.js").read_text()


def overview(ctx: PageContext) -> PageContent:
    """Start, end and aggregate controls (filled from the query string) above the plot."""
    settings = settings_of(ctx.runtime)
    try:
        q = UniquesQuery.model_validate(
            {k: ctx.query[k] for k in ("start", "end", "aggregate") if k in ctx.query})
    except ValidationError:
        q = UniquesQuery.model_validate({})  # a bad link shows the defaults; the API names the problem
    end = q.end or today(settings)
    start = q.start or end - timedelta(days=DEFAULT_DAYS)
    options = "".join(
        f'<option value="{g.value}"{" selected" if g is q.aggregate else ""}>{NAMES[g]}</option>'
        for g in Grain)
    body = f"""
<div class="page-head">
  <h1>Logins</h1>
  <p class="hint" id="logins-status" role="status" aria-live="polite">Loading…</p>
</div>
<section class="panel controls-panel">
  <form class="controls" id="logins-form" autocomplete="off">
    <label>Start <input type="date" id="logins-start" value="{start.isoformat()}" required></label>
    <label>End <input type="date" id="logins-end" value="{end.isoformat()}" required></label>
    <label>Aggregate <select id="logins-aggregate">{options}</select></label>
    <button type="submit" class="primary" id="logins-show">Show</button>
  </form>
  <p class="hint">Distinct users per period, counted over the stored daily sets; days in
    {escape(settings.logins_timezone)}, weeks ending {escape(settings.logins_week_end.title())}.</p>
</section>
<section class="panel chart-panel"><div class="chart" id="logins-plot"></div></section>
"""
    return PageContent(body, scripts=(SCRIPT,), bokeh=True)
