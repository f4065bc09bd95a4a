// Stores page: trigger a report and poll it, download it, draw one store's week as lanes.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const status = $("stores-status");
  document.body.dataset.state = "ready";

  // The "Now" field as an ISO time (null when empty); a wrong one is named with the fix, and
  // the field is marked.
  function nowParam(id) {
    const field = $(id);
    const value = field.value;
    const ms = value.trim() ? kpiflow.fromInputUtc(value) : null;
    field.setAttribute("aria-invalid", String(value.trim() !== "" && ms === null));
    if (!value.trim()) return null;
    if (ms === null) {
      throw new Error(`Now: "${value}" is not a date; write YYYY-MM-DD HH:MM (UTC), ` +
                      "e.g. 2023-01-25 18:00, or leave it empty for the latest poll.");
    }
    return new Date(ms).toISOString();
  }

  function say(el, text, kind) {
    el.textContent = text;
    el.className = (el.className.split(" ")[0]) + " " + (kind || "");
  }

  // ---- report: trigger, poll, download, preview
  const state = $("report-state");
  const bar = $("report-progress");
  const link = $("report-download");

  async function poll(id) {
    const url = new URL("get_report", document.baseURI);
    url.searchParams.set("report_id", id);
    for (;;) {
      const response = await kpiflow.request(url);  // with the API token, if one is given
      if (!response.ok) throw new Error(`${response.status}: ${await response.text()}`);
      const type = response.headers.get("content-type") || "";
      if (type.startsWith("text/csv")) return await response.text();
      const body = await response.json();
      if (body.status === "Failed") throw new Error("report failed: " + body.error);
      bar.hidden = false;
      bar.max = body.stores_total || 1;
      bar.value = body.stores_done || 0;
      say(state, body.stores_total
        ? `Running: ${kpiflow.fmtInt(body.stores_done)} of ${kpiflow.fmtInt(body.stores_total)} stores`
        : "Running…", "busy");
      await new Promise((r) => setTimeout(r, 400));
    }
  }

  // Built with DOM calls, never innerHTML: store ids come from users' files.
  function cell(tag, text, className) {
    const node = document.createElement(tag);
    node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  // RFC 4180 CSV (quoted fields may hold commas, quotes and newlines: store ids are strings).
  function parseCsv(text) {
    const rows = [];
    let row = [], field = "", quoted = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
        else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") { row.push(field); field = ""; }
      else if (c === "\n" || c === "\r") {
        if (c === "\r" && text[i + 1] === "\n") i++;
        row.push(field); rows.push(row); row = []; field = "";
      } else field += c;
    }
    if (field !== "" || row.length) { row.push(field); rows.push(row); }
    return rows;
  }

  // "uptime_last_hour" -> "uptime last hour (min)": the report gives the hour in minutes, the
  // day and the week in hours.
  function heading(name) {
    const unit = name.endsWith("_hour") ? " (min)" : /_(day|week)$/.test(name) ? " (h)" : "";
    return name.replace(/_/g, " ") + unit;
  }

  // The report as a table sorted by any column (click a header; again to reverse), worst
  // first by default: the lowest share of last week's business time up. Shown 50 rows at a
  // time; the CSV download has them all.
  const SHARE = "up last week (%)";
  const PAGE = 50;
  const report = { names: [], rows: [], key: SHARE, dir: 1, shown: PAGE };

  function load(csv, key, dir) {
    const [names, ...lines] = parseCsv(csv.trim());
    const up = names.indexOf("uptime_last_week");
    const down = names.indexOf("downtime_last_week");
    report.names = [...names, SHARE];
    report.rows = lines.map((line) => {
      const values = line.map((v, i) => (i === 0 ? v : Number(v)));
      const known = values[up] + values[down];
      values.push(known > 0 ? (100 * values[up]) / known : null);  // no business time: none
      return values;
    });
    report.key = report.names.includes(key) ? key : SHARE;
    report.dir = dir === "desc" ? -1 : 1;
    report.shown = PAGE;
    render();
    return report.rows.length;
  }

  function sorted() {
    const k = report.names.indexOf(report.key);
    const byId = (a, b) => a[0].localeCompare(b[0], "en", { numeric: true });
    return report.rows.slice().sort((a, b) => {
      if (k === 0) return report.dir * byId(a, b);
      if (a[k] === null || b[k] === null) {  // stores without a value last, either way
        return (a[k] === null) - (b[k] === null) || byId(a, b);
      }
      return report.dir * (a[k] - b[k]) || byId(a, b);
    });
  }

  function render() {
    const table = $("report-preview");
    const headRow = document.createElement("tr");
    report.names.forEach((name) => {
      const th = cell("th", "", name === report.names[0] ? "" : "num");
      const button = cell("button", name === SHARE ? name : heading(name), "sort");
      button.type = "button";
      button.dataset.key = name;
      th.appendChild(button);
      if (name === report.key) {
        th.setAttribute("aria-sort", report.dir > 0 ? "ascending" : "descending");
        button.append(report.dir > 0 ? " ▲" : " ▼");
      }
      headRow.appendChild(th);
    });
    table.tHead.replaceChildren(headRow);
    const all = sorted();
    const rows = all.slice(0, report.shown).map((values) => {
      const tr = document.createElement("tr");
      values.forEach((v, i) => {
        if (i > 0) {
          const last = i === values.length - 1;
          tr.appendChild(cell("td", v === null ? "—" : v.toFixed(last ? 1 : 2), "num"));
          return;
        }
        const button = cell("button", v, "link sample");
        button.type = "button";
        button.dataset.store = v;
        const td = document.createElement("td");
        td.appendChild(button);
        tr.appendChild(td);
      });
      return tr;
    });
    table.tBodies[0].replaceChildren(...rows);
    table.hidden = false;
    const more = $("report-more");
    more.hidden = all.length <= report.shown;
    $("report-count").textContent = `${kpiflow.fmtInt(Math.min(report.shown, all.length))} of ` +
      `${kpiflow.fmtInt(all.length)} stores shown, sorted by ${report.key === SHARE ? SHARE
        : heading(report.key)} ${report.dir > 0 ? "ascending" : "descending"}` +
      (report.key === SHARE && report.dir > 0 ? " (worst first)" : "") + ".";
  }

  $("report-preview").addEventListener("click", (event) => {
    const button = event.target.closest("button.sort");
    if (!button) return;
    const key = button.dataset.key;
    report.dir = key === report.key ? -report.dir : 1;
    report.key = key;
    keep({ sort: key, dir: report.dir > 0 ? "asc" : "desc" });
    render();
  });
  $("report-more").addEventListener("click", () => {
    report.shown += PAGE;
    render();
  });

  // The address keeps what the page shows (the report and its order, the store and its
  // "now"), so an auto-refresh or a shared link shows the same again.
  const query = new URLSearchParams(location.search);
  function keep(updates) {
    const url = new URL(location.href);
    for (const [k, v] of Object.entries(updates)) {
      if (v === null || v === "") url.searchParams.delete(k);
      else url.searchParams.set(k, v);
    }
    history.replaceState(null, "", url);
  }

  async function showReport(id, key, dir) {
    keep({ report: id });  // a reload while it runs picks it up again
    say(state, "Running…", "busy");
    const csv = await poll(id);
    bar.value = bar.max;
    const rows = load(csv, key, dir);
    // The download is the CSV already fetched (with the token's header), not a second
    // request: a plain link could not send the token, and the token never goes in a URL.
    if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
    link.download = `report-${id}.csv`;
    link.hidden = false;
    say(state, `Complete: ${kpiflow.fmtInt(rows)} stores`, "ok");
  }

  $("report-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = $("trigger");
    button.disabled = true;
    link.hidden = true;
    try {
      const params = { now: nowParam("report-now"), max_hold: $("report-hold").value.trim() };
      const started = await kpiflow.api("trigger_report", params, { method: "POST" });
      keep({ report: null, sort: null, dir: null });
      await showReport(started.report_id);
    } catch (err) {
      say(state, err.message, "error");
    } finally {
      button.disabled = false;
    }
  });

  if (query.get("report")) {
    showReport(query.get("report"), query.get("sort"), query.get("dir")).catch((err) => {
      say(state, `Report ${query.get("report")} could not be shown (${err.message}): ` +
          "trigger a new one.", "error");
      keep({ report: null, sort: null, dir: null });
    });
  }

  // ---- one store's week
  const SVG = "http://www.w3.org/2000/svg";
  const LEFT = 90, WIDTH = 1000, LANE = 26, GAP = 8, TOP = 22;

  function el(name, attrs, parent, title) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (title) {
      const t = document.createElementNS(SVG, "title");
      t.textContent = title;
      node.appendChild(t);
    }
    parent.appendChild(node);
    return node;
  }

  const fmtH = (h) => {
    const m = Math.round(h * 60);
    return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
  };

  function draw(week) {
    const box = $("timeline");
    box.innerHTML = "";
    const scale = WIDTH / 25;  // 25 hours fit a DST day
    const height = TOP + week.lanes.length * (LANE + GAP);
    const svg = el("svg", { viewBox: `0 0 ${LEFT + WIDTH + 10} ${height}`, role: "img",
                            "aria-label": `week of store ${week.store_id}` }, box);
    for (let h = 0; h <= 24; h += 3) {
      el("text", { x: LEFT + h * scale, y: 12, "text-anchor": "middle" }, svg).textContent =
        String(h).padStart(2, "0") + ":00";
    }
    week.lanes.forEach((lane, i) => {
      const y = TOP + i * (LANE + GAP);
      const g = el("g", { class: "lane", "data-date": lane.date }, svg);
      el("text", { x: 0, y: y + LANE * 0.7 }, g).textContent = `${lane.weekday} ${lane.date.slice(5)}`;
      el("rect", { class: "lane-bg", x: LEFT, y, width: lane.length * scale, height: LANE }, g,
         `${lane.date}: ${lane.length} hours`);
      for (const [a, b] of lane.business) {
        el("rect", { class: "business", x: LEFT + a * scale, y, width: (b - a) * scale,
                     height: LANE }, g, `business ${fmtH(a)}-${fmtH(b)} local`);
      }
      for (const kind of ["up", "down"]) {
        for (const [a, b] of lane[kind]) {
          el("rect", { class: kind, x: LEFT + a * scale, y: y + 8, width: Math.max((b - a) * scale, 0.5),
                       height: LANE - 8 }, g, `${kind} ${fmtH(a)}-${fmtH(b)} local (${Math.round((b - a) * 60)} min)`);
        }
      }
      const [wa, wb] = lane.window;  // outside the week window: faded
      if (wa > 0) el("rect", { class: "outside", x: LEFT, y, width: wa * scale, height: LANE }, g);
      if (wb < lane.length) {
        el("rect", { class: "outside", x: LEFT + wb * scale, y, width: (lane.length - wb) * scale,
                     height: LANE }, g);
      }
      for (const [t, up] of lane.polls) {
        el("rect", { class: up ? "poll-up" : "poll-down", x: LEFT + t * scale - 1, y, width: 2,
                     height: 7 }, g, `poll at ${fmtH(t)} local: ${up ? "active" : "inactive"}`);
      }
    });
    const r = week.row;
    $("store-info").textContent =
      `Zone ${week.zone}${week.zone_is_default ? " (default)" : ""}; now ${week.now}. ` +
      `Last week: ${r.uptime_last_week} h up, ${r.downtime_last_week} h down of ` +
      `${r.business_last_week} h business; last day: ${r.uptime_last_day} h up, ` +
      `${r.downtime_last_day} h down; last hour: ${r.uptime_last_hour} min up, ` +
      `${r.downtime_last_hour} min down.`;
  }

  async function showStore() {
    const id = $("store-id").value.trim();
    if (!id) return;
    document.body.dataset.state = "loading";
    say(status, "Loading…", "");
    try {
      const week = await kpiflow.api(`api/v1/stores/${encodeURIComponent(id)}/week`,
                                     { now: nowParam("store-now") });
      draw(week);
      keep({ store: id, at: $("store-now").value.trim() });
      say(status, "", "");
      document.body.dataset.state = "ready";
    } catch (err) {
      $("timeline").innerHTML = "";
      $("store-info").textContent = "";
      say(status, err.message, "error");
      document.body.dataset.state = "error";
    }
  }

  $("store-form").addEventListener("submit", (event) => { event.preventDefault(); showStore(); });
  document.addEventListener("click", (event) => {
    const target = event.target.closest("button.sample");
    if (!target) return;
    $("store-id").value = target.dataset.store;
    showStore();
  });
  if (query.get("at")) $("store-now").value = query.get("at");
  if ($("store-id").value) showStore();
})();
