"""The Ingest page (core): scheduled jobs, last runs, the ledger, quarantined rows, Run now."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path
from urllib.parse import urlencode

from kpiflow.dashboard.page import PageContent, PageContext
from kpiflow.ingest import history
from kpiflow.scheduler import JobStatus, job_statuses

PAGE_SIZE = 25
SCRIPT = (Path(__file__).parent / "static" / "ingest.js").read_text()


def _when(moment: datetime | None, compact: bool = False) -> str:
    if moment is None:
        return "—"
    if moment.tzinfo is None:  # SQLite keeps no zone; we only ever write UTC
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    iso = moment.isoformat().replace("+00:00", "Z")
    cls = ' class="compact"' if compact else ""
    return f'<time datetime="{iso}"{cls}>{moment:%Y-%m-%d %H:%M:%S} UTC</time>'


def _num(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f} s"


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _badge(status: str) -> str:
    return f'<span class="badge {escape(status)}">{escape(status)}</span>'


def _int_param(ctx: PageContext, name: str) -> int:
    try:
        return max(0, int(ctx.query.get(name, "0")))
    except ValueError:
        return 0


def _pager(ctx: PageContext, key: str, offset: int, shown: int, total: int) -> str:
    if total == 0:
        return ""
    params = dict(ctx.query)

    def link(new_offset: int, label: str) -> str:
        query = urlencode({**params, key: new_offset})
        return f'<a href="ingest?{escape(query)}">{label}</a>'

    parts = [f"{offset + 1:,}&ndash;{offset + shown:,} of {total:,}"]
    if offset > 0:
        parts.insert(0, link(max(0, offset - PAGE_SIZE), "← newer"))
    if offset + shown < total:
        parts.append(link(offset + PAGE_SIZE, "older →"))
    return f'<p class="pager">{" · ".join(parts)}</p>'


def _counts(counts: dict[str, int | float]) -> str:
    """A run's own counts, as the pack named them (each pack counts different things)."""
    return " · ".join(
        f"<span class=count>{escape(name.replace('_', ' '))} "
        f"<b>{f'{value:,.2f}' if isinstance(value, float) else f'{value:,}'}</b></span>"
        for name, value in counts.items()
    ) or "—"


def _runs(ctx: PageContext) -> str:
    rows = history.last_runs(ctx.conn, limit=20)
    if not rows:
        return '<p class="empty">No run yet. Press <b>Run now</b> or wait for the scheduler.</p>'
    body = "".join(
        "<tr>"
        f"<td>{_when(r['started_at'])}</td><td>{escape(r['pack'])}</td>"
        f"<td>{escape(r['job'] or '')}</td><td>{_badge(r['status'])}</td>"
        f"<td class=num>{_seconds(r['seconds'])}</td>"
        f"<td class=counts>{_counts(r['counts'])}</td>"
        f"<td class=error>{escape(r['error'] or '')}</td>"
        "</tr>"
        for r in rows
    )
    return (
        '<div class="scroll"><table id="runs"><thead><tr><th>started</th><th>pack</th>'
        "<th>job</th><th>status</th><th class=num>duration</th><th>counts</th>"
        "<th>error</th></tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def _schedule(job: JobStatus) -> str:
    if job.cron is not None:
        return f"cron <code>{escape(job.cron)}</code> ({escape(job.timezone or 'UTC')})"
    if job.every_seconds is None:
        return "on demand"
    seconds = job.every_seconds
    for unit, scale in (("h", 3600), ("min", 60)):
        if seconds >= scale and seconds % scale == 0:
            return f"every {seconds / scale:g} {unit}"
    return f"every {seconds:g} s"


def _next_run(job: JobStatus) -> str:
    if job.next_run_time is not None:
        return _when(job.next_run_time)
    if job.cron is None and job.every_seconds is None:
        return "—"
    return "not scheduled by this server"


def _jobs(ctx: PageContext) -> str:
    jobs = job_statuses(ctx.runtime, ctx.conn, ctx.request.app.state.scheduler)
    if not jobs:
        return '<p class="empty">No pack has a job.</p>'
    body = "".join(
        f'<tr data-job="{escape(j.pack)}.{escape(j.job)}">'
        f"<td>{escape(j.pack)}</td><td>{escape(j.job)}</td>"
        f"<td>{escape(j.description)}</td><td>{_schedule(j)}</td><td>{_next_run(j)}</td>"
        + (f"<td>{_badge(j.last_run['status'])}</td><td>{_when(j.last_run['finished_at'])}</td>"
           f"<td class=counts>{_counts(j.last_run['counts'])}</td>"
           f"<td class=error>{escape(j.last_run['error'] or '')}</td>"
           if j.last_run is not None else
           '<td colspan=4 class="empty">never ran</td>')
        + "</tr>"
        for j in jobs
    )
    return (
        '<div class="scroll"><table id="jobs"><thead><tr><th>pack</th><th>job</th>'
        "<th>what it does</th><th>schedule</th><th>next run</th><th>last run</th>"
        "<th>finished</th><th>counts</th><th>error</th></tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def _ledger(ctx: PageContext) -> str:
    status = ctx.query.get("status") or None
    offset = _int_param(ctx, "ledger_offset")
    counts = history.ledger_status_counts(ctx.conn)
    total = history.ledger_count(ctx.conn, status=status)
    rows = history.ledger_rows(ctx.conn, status=status, limit=PAGE_SIZE, offset=offset)
    filters = [("", f"all ({sum(counts.values()):,})")] + [
        (s, f"{s} ({n:,})") for s, n in sorted(counts.items())
    ]
    chips = "".join(
        f'<a class="chip{" active" if (s or None) == status else ""}" '
        f'href="ingest?{escape(urlencode({"status": s}) if s else "")}#ledger">{escape(label)}</a>'
        for s, label in filters
    )
    if not rows:
        table = '<p class="empty">No file seen yet.</p>'
    else:
        body = "".join(
            "<tr>"
            f"<td class=path title=\"{escape(r['path'])}\">{escape(r['path'])}</td>"
            f"<td>{escape(r['pack'])}</td><td>{_badge(r['status'])}</td>"
            f"<td class=num>{_num(r['rows'])}</td><td class=num>{_num(r['bad_rows'])}</td>"
            f"<td class=num>{_size(r['size'])}</td><td>{_when(r['updated_at'], True)}</td>"
            f"<td class=error>{escape(r['error'] or '')}</td>"
            "</tr>"
            for r in rows
        )
        table = (
            '<div class="scroll"><table id="ledger-table"><thead><tr><th>file</th><th>pack</th>'
            "<th>status</th><th class=num>rows</th><th class=num>bad rows</th>"
            "<th class=num>size</th><th>updated</th><th>note</th></tr></thead>"
            f"<tbody>{body}</tbody></table></div>"
        )
    pager = _pager(ctx, "ledger_offset", offset, len(rows), total)
    return f'<div class="chips">{chips}</div>{table}{pager}'


def _quarantine(ctx: PageContext) -> str:
    offset = _int_param(ctx, "quarantine_offset")
    total = history.quarantine_count(ctx.conn)
    rows = history.quarantine_rows(ctx.conn, limit=PAGE_SIZE, offset=offset)
    if not rows:
        return '<p class="empty">No quarantined row: every row read so far was valid.</p>'
    body = "".join(
        "<tr>"
        f"<td class=path title=\"{escape(r['path'])}\">{escape(r['path'])}</td>"
        f"<td class=num>{r['line']:,}</td><td>{escape(r['reason'])}</td>"
        f"<td><code>{escape(r['raw'][:200])}</code></td>"
        "</tr>"
        for r in rows
    )
    table = (
        '<div class="scroll"><table id="quarantine-table"><thead><tr><th>file</th>'
        "<th class=num>line</th><th>reason</th><th>row as read</th></tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )
    return table + _pager(ctx, "quarantine_offset", offset, len(rows), total)


def _run_now(ctx: PageContext) -> str:
    runnable = [p for p in ctx.runtime.packs if p.jobs]
    token = ctx.runtime.settings.api_token
    enabled = token is not None and bool(token.get_secret_value())
    options = "".join(
        f'<option value="{escape(p.name)}">{escape(p.title)}</option>' for p in runnable
    )
    if not runnable:
        return '<p class="empty">No pack has a job to run.</p>'
    note = (
        "Runs one pass now, as the scheduler would. The API token is the server's "
        "<code>KPIFLOW_API_TOKEN</code>; it stays in this tab only."
        if enabled else
        "Runs over HTTP are <b>disabled</b>: no API token is configured on the server. "
        "Set <code>KPIFLOW_API_TOKEN</code> and restart it to enable this button."
    )
    disabled = "" if enabled else " disabled"
    return f"""
<form id="run-now" class="run-now" autocomplete="off">
  <label>Pack <select name="pack" id="run-pack"{disabled}>{options}</select></label>
  <label>API token <input type="password" id="run-token" name="token"
    placeholder="KPIFLOW_API_TOKEN" autocomplete="off"{disabled}></label>
  <button type="submit" id="run-button"{disabled}>Run now</button>
  <span id="run-status" class="status" role="status" aria-live="polite"></span>
</form>
<p class="hint">{note}</p>"""


def render(ctx: PageContext) -> PageContent:
    """The Ingest page."""
    body = f"""
<h1>Ingest</h1>
<section class="panel"><h2>Run now</h2>{_run_now(ctx)}</section>
<section class="panel" id="scheduled-jobs"><h2>Scheduled jobs</h2>{_jobs(ctx)}</section>
<section class="panel"><h2>Last runs</h2>{_runs(ctx)}</section>
<section class="panel" id="quarantine"><h2>Quarantined rows</h2>{_quarantine(ctx)}</section>
<section class="panel" id="ledger"><h2>Ledger: every file seen</h2>{_ledger(ctx)}</section>
"""
    return PageContent(body, scripts=(SCRIPT,))


__all__ = ["render"]
