"""The Stores dashboard page: trigger a report and watch it, download it, one store's week."""

from __future__ import annotations

from html import escape
from pathlib import Path

from sqlalchemy import select

from kpiflow.dashboard.page import PageContent, PageContext
from kpiflow.packs.stores.tables import polls, stores

SCRIPT = (Path(__file__).parent / "static" / "stores.js").read_text()


def overview(ctx: PageContext) -> PageContent:
    """The Stores page; the browser talks to /trigger_report, /get_report and the week route."""
    # A few stores that have polls; keys fetched first, as MariaDB refuses LIMIT inside IN.
    keys = ctx.conn.execute(select(polls.c.store_key).distinct().limit(200)).scalars().all()
    sample = ctx.conn.execute(
        select(stores.c.store_id).where(stores.c.store_key.in_(keys))
        .order_by(stores.c.store_id).limit(5)).scalars().all() if keys else []
    examples = "".join(
        f'<button type="button" class="link sample" data-store="{escape(s)}">{escape(s)}</button>'
        for s in sample) or '<span class="hint">no polls loaded yet</span>'
    store = escape(ctx.query.get("store", ""))
    body = f"""
<div class="page-head">
  <h1>Stores</h1>
  <p class="hint" id="stores-status" role="status" aria-live="polite">&nbsp;</p>
</div>
<section class="panel">
  <h2>Uptime report</h2>
  <form class="controls" id="report-form" autocomplete="off">
    <label>Now (UTC, empty = latest poll)
      <input type="text" id="report-now" size="20" placeholder="YYYY-MM-DD HH:MM"></label>
    <label>Max hold (optional)
      <input type="text" id="report-hold" size="8" placeholder="90m"></label>
    <button type="submit" class="primary" id="trigger">Trigger report</button>
    <span class="status" id="report-state">&nbsp;</span>
  </form>
  <progress id="report-progress" max="1" value="0" hidden></progress>
  <p class="hint"><a id="report-download" hidden download>Download CSV</a>
    <span id="report-count"></span></p>
  <div class="scroll"><table id="report-preview" hidden><thead></thead><tbody></tbody></table>
  </div>
  <button type="button" id="report-more" hidden>Show 50 more</button>
</section>
<section class="panel">
  <h2>One store's week</h2>
  <form class="controls" id="store-form" autocomplete="off">
    <label>Store id <input type="text" id="store-id" size="40" required value="{store}"></label>
    <label>Now (UTC, empty = latest poll)
      <input type="text" id="store-now" size="20" placeholder="YYYY-MM-DD HH:MM"></label>
    <button type="submit" class="primary" id="show-store">Show</button>
  </form>
  <p class="hint">Examples: {examples}</p>
  <p class="hint" id="store-info">&nbsp;</p>
  <div id="timeline" class="timeline"></div>
  <p class="hint legend"><span class="key closed"></span> closed
    <span class="key business"></span> business hours <span class="key up"></span> up
    <span class="key down"></span> down <span class="key poll"></span> poll</p>
</section>
<style>
.timeline svg {{ width: 100%; height: auto; font-size: 11px; }}
.timeline .lane-bg {{ fill: #eef0f3; }} .timeline .business {{ fill: #cfe0f5; }}
.timeline .up {{ fill: #2f9e61; }} .timeline .down {{ fill: #d64545; }}
.timeline .poll-up {{ fill: #1d2733; }} .timeline .poll-down {{ fill: #d64545; }}
.timeline .outside {{ fill: #ffffff; opacity: .7; }}
.legend .key {{ display: inline-block; width: 14px; height: 10px; margin: 0 4px 0 12px; }}
.legend .closed {{ background: #eef0f3; }} .legend .business {{ background: #cfe0f5; }}
.legend .up {{ background: #2f9e61; }} .legend .down {{ background: #d64545; }}
.legend .poll {{ background: #1d2733; width: 3px; }}
button.link {{ border: none; background: none; color: var(--brand); padding: 0 6px;
  text-decoration: underline; cursor: pointer; font-size: 13px; }}
progress {{ width: 320px; }}
button.sort {{ border: none; background: none; padding: 0; font: inherit; color: inherit;
  font-weight: 600; cursor: pointer; white-space: nowrap; }}
button.sort:hover {{ color: var(--brand); text-decoration: underline; }}
th[aria-sort] button.sort {{ color: var(--brand); }}
#report-more {{ margin-top: 8px; }}
</style>
"""
    return PageContent(body, scripts=(SCRIPT,))
