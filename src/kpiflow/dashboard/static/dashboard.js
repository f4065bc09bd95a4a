// Shared helpers of every kpiflow page: number and time formatting, API calls, local times.
// URLs are relative to <base>, so the dashboard works behind any path prefix.
"use strict";
window.kpiflow = (function () {
  const intFmt = new Intl.NumberFormat("en-US");
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "local";

  function fmtInt(n) {
    return n === null || n === undefined || Number.isNaN(n) ? "—" : intFmt.format(Math.round(n));
  }

  // Decimal units (1 MB = 1,000,000 bytes), three significant digits.
  function fmtBytes(n) {
    if (n === null || n === undefined || Number.isNaN(n)) return "—";
    const units = [["TB", 1e12], ["GB", 1e9], ["MB", 1e6], ["kB", 1e3]];
    for (const [unit, scale] of units) {
      if (Math.abs(n) >= scale) {
        const v = n / scale;
        return (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + " " + unit;
      }
    }
    return fmtInt(n) + " B";
  }

  const pad = (v) => String(v).padStart(2, "0");

  function fmtUtc(ms, seconds) {
    const d = new Date(ms);
    const s = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
    return (seconds ? s + ":" + pad(d.getUTCSeconds()) : s) + " UTC";
  }

  // Browser-local time with the zone's name (left out with `noZone`).
  function fmtLocal(ms, seconds, noZone) {
    const d = new Date(ms);
    const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    return (seconds ? s + ":" + pad(d.getSeconds()) : s) + (noZone ? "" : " " + zone);
  }

  // "2026-11-24 10:05" (UTC) <-> epoch ms, for the time fields (a "T" works too).
  function toInputUtc(ms) {
    return new Date(ms).toISOString().slice(0, 16).replace("T", " ");
  }
  function fromInputUtc(value) {
    const m = /^\s*(\d{4}-\d{2}-\d{2})[ T](\d{1,2}):(\d{2})\s*$/.exec(value || "");
    if (!m) return null;
    const text = `${m[1]}T${m[2].padStart(2, "0")}:${m[3]}`;
    const ms = Date.parse(text + ":00Z");
    // Date.parse rolls a day that does not exist over (2023-02-30 is March 2): refuse it
    return Number.isNaN(ms) || toInputUtc(ms).replace(" ", "T") !== text ? null : ms;
  }

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  // The API token the user gave (the token prompt, or Run now on the Ingest page); it is only
  // ever sent as a header, never put in a URL or logged.
  const TOKEN_KEY = "kpiflow.apiToken";

  // Pages are navigations, which carry no header: the server reads the token of a protected
  // page from this cookie (this dashboard's path only, never sent cross-site).
  function setPageCookie(value) {
    const path = new URL(document.baseURI).pathname;
    const life = value ? "" : "; max-age=0";
    document.cookie = `kpiflow_token=${encodeURIComponent(value)}; path=${path}; SameSite=Strict${life}`;
  }

  // The page shell has the prompt only when the server protects its read routes.
  function askForToken(status) {
    const prompt = document.getElementById("token-prompt");
    if (!prompt) return false;
    if (status === 403) {  // a token was sent and refused: forget it (once for many calls)
      sessionStorage.removeItem(TOKEN_KEY);
      setPageCookie("");
      prompt.dataset.refused = "1";
    }
    document.getElementById("token-message").textContent = prompt.dataset.refused
      ? "The API token was refused: enter the right one to see this page's data."
      : "This server's data needs its API token (KPIFLOW_API_TOKEN): enter it to see this page.";
    if (prompt.hidden) {
      prompt.hidden = false;
      document.getElementById("token-input").focus();
    }
    return true;
  }

  // fetch() with the stored token as a bearer header (unless the caller sent its own); a read
  // refused for the token (401/403) opens the token prompt.
  async function request(url, options) {
    const opts = { ...(options || {}) };
    const headers = new Headers(opts.headers || {});
    const own = headers.has("Authorization");
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!own && token) headers.set("Authorization", "Bearer " + token);
    opts.headers = headers;
    const response = await fetch(url, opts);
    if (!own && (response.status === 401 || response.status === 403)) askForToken(response.status);
    return response;
  }

  async function api(path, params, options) {
    const url = new URL(path, document.baseURI);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, v);
    }
    const response = await request(url, options);
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch (e) { body = text; }
    if (!response.ok) {
      let detail = body && body.detail !== undefined ? body.detail : text;
      if (Array.isArray(detail)) detail = detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
      throw new ApiError(response.status, `${response.status}: ${detail}`);
    }
    return body;
  }

  // Every <time datetime> written by the server in UTC also shows the browser's local time.
  function localizeTimes(root) {
    for (const el of (root || document).querySelectorAll("time[datetime]")) {
      if (el.dataset.localized) continue;
      const ms = Date.parse(el.getAttribute("datetime"));
      if (Number.isNaN(ms)) continue;
      el.title = "local time: " + fmtLocal(ms, true);
      if (!el.classList.contains("compact")) {  // compact: the local time is the tooltip only
        const small = document.createElement("small");
        small.className = "local";
        small.textContent = fmtLocal(ms, true);
        el.after(small);
      }
      el.dataset.localized = "1";
    }
  }

  // A series split into runs: a run ends where a value is missing (null or NaN) or where the
  // next point is more than `step` later, so nothing is ever drawn across missing intervals.
  const missing = (v) => v === null || v === undefined || Number.isNaN(v);
  function runs(t, step, values) {
    const out = [];
    let run = [];
    for (let i = 0; i < t.length; i++) {
      const present = !missing(values[i]);
      if (run.length && (!present || t[i] - t[run[run.length - 1]] > step)) {
        out.push(run);
        run = [];
      }
      if (present) run.push(i);
    }
    if (run.length) out.push(run);
    return out;
  }

  // Columns for a line: every point, plus a NaN row wherever the next point is more than
  // `step` later (BokehJS breaks a line at NaN, as at a missing value), and `dot`: the value
  // where a run has a single point (a line of one point is invisible), or at every point when
  // there are `allDots` points or fewer.
  function lineWithBreaks(t, step, columns, value, allDots) {
    const names = Object.keys(columns);
    const out = { t: [], dot: [] };
    for (const name of names) out[name] = [];
    const alone = new Set(runs(t, step, columns[value]).filter((r) => r.length === 1).flat());
    for (let i = 0; i < t.length; i++) {
      if (i > 0 && t[i] - t[i - 1] > step) {  // the break
        out.t.push(t[i - 1] + step);
        out.dot.push(NaN);
        for (const name of names) out[name].push(name === value ? NaN : "");
      }
      out.t.push(t[i]);
      for (const name of names) out[name].push(columns[name][i]);
      const v = columns[value][i];
      out.dot.push(!missing(v) && (alone.has(i) || t.length <= allDots) ? v : NaN);
    }
    return out;
  }

  // A min-max band as the points of one Bokeh `patch`: a polygon per run, NaN between them
  // (BokehJS's `varea` draws straight across NaN; a patch starts a new polygon there). Each
  // polygon reaches half a step past its outer points: the time its buckets cover.
  function bandWithBreaks(t, step, lo, hi) {
    const x = [];
    const y = [];
    const half = step / 2;
    for (const run of runs(t, step, lo.map((v, i) => (missing(hi[i]) ? null : v)))) {
      if (x.length) { x.push(NaN); y.push(NaN); }
      const first = run[0];
      const last = run[run.length - 1];
      x.push(t[first] - half); y.push(lo[first]);
      for (const i of run) { x.push(t[i]); y.push(lo[i]); }
      x.push(t[last] + half, t[last] + half); y.push(lo[last], hi[last]);
      for (const i of run.slice().reverse()) { x.push(t[i]); y.push(hi[i]); }
      x.push(t[first] - half); y.push(hi[first]);
    }
    return { x, y };
  }

  async function embed(itemElementId, targetId) {
    const item = JSON.parse(document.getElementById(itemElementId).textContent);
    await Bokeh.embed.embed_item(item, targetId);
    return Bokeh.documents.find((doc) => doc.get_model_by_id(item.root_id) !== null);
  }

  // body[data-state]: "ready" once a page has drawn its data (pages that load data later set
  // "loading" while their script runs, then "ready", "empty" or "error" themselves).
  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("token-form");
    const locked = document.getElementById("token-prompt");
    if (locked && locked.dataset.refused) {  // the server refused the stored token: forget it
      sessionStorage.removeItem(TOKEN_KEY);
      setPageCookie("");
    }
    if (form) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const value = document.getElementById("token-input").value.trim();
        if (!value) return;
        sessionStorage.setItem(TOKEN_KEY, value);
        setPageCookie(value);
        window.location.reload();
      });
    }
    localizeTimes();
    if (!document.body.dataset.state) document.body.dataset.state = "ready";
  });
  return { fmtInt, fmtBytes, fmtUtc, fmtLocal, toInputUtc, fromInputUtc, api, request,
           ApiError, localizeTimes, embed, zone, runs, lineWithBreaks, bandWithBreaks };
})();
