// Network page: range and interval pickers, top-N bars of one interval with stepping,
// and one service's or cell's series across the range. Every view asks the API for only
// what it shows (top rows of one interval; a series rolled up to at most ~600 points).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const cfg = JSON.parse($("network-config").textContent);
  document.body.dataset.state = "loading";
  const MAX_POINTS = 600;
  const KINDS = {
    services: { fmt: kpiflow.fmtBytes, noun: "service", what: "traffic" },
    cells: { fmt: kpiflow.fmtInt, noun: "cell", what: "unique users" },
  };
  const state = {
    interval: 5, start: null, end: null, at: null, current: null,
    first: null, last: null, services: null, cells: null,
  };
  const charts = {};
  const seriesKey = { services: null, cells: null };
  let programmatic = false;

  const len = () => state.interval * 60000;
  const intervalName = () => (state.interval === 5 ? "5-minute interval" : "hour");

  function setStatus(text, kind) {
    const el = $("network-status");
    el.textContent = text || "";
    el.className = "hint " + (kind || "");
    document.body.dataset.state = kind === "error" ? "error" : kind === "empty" ? "empty"
      : text ? "loading" : "ready";
  }

  function readUrl() {
    const q = new URLSearchParams(location.search);
    const num = (k) => (q.has(k) && q.get(k) !== "" && !Number.isNaN(Number(q.get(k)))
      ? Number(q.get(k)) : null);
    state.interval = num("interval") === 60 ? 60 : 5;
    state.start = num("from");
    state.end = num("to");
    state.at = num("at");
    state.services = num("service");
    state.cells = num("cell");
  }

  function writeUrl() {
    const q = new URLSearchParams();
    q.set("interval", state.interval);
    if (state.start !== null) q.set("from", state.start);
    if (state.end !== null) q.set("to", state.end);
    if (state.current !== null) q.set("at", state.current);
    if (state.services !== null) q.set("service", state.services);
    if (state.cells !== null) q.set("cell", state.cells);
    history.replaceState(null, "", location.pathname + "?" + q.toString());
  }

  function showRangeInputs() {
    $("interval").value = String(state.interval);
    $("from").value = kpiflow.toInputUtc(state.start);
    $("to").value = kpiflow.toInputUtc(state.end);
  }

  function defaultRange() {
    const hours = state.interval === 5 ? 24 : 24 * 7;
    state.end = state.last + len();
    state.start = Math.max(state.first, state.end - hours * 3600000);
  }

  async function loadExtentAll(pending) {
    const ext = await (pending || kpiflow.api("api/v1/network/extent/", {
      interval: state.interval }));
    state.first = ext.first;
    state.last = ext.last;
    return ext.last !== null;
  }

  function label(kind, id) {
    return `${kind === "services" ? "service" : "cell"} ${id}`;
  }

  function fillBars(kind, rows) {
    const c = charts[kind];
    const fmt = KINDS[kind].fmt;
    const labels = rows.map((r) => label(kind, r.id));
    c.factors.factors = labels.slice().reverse();  // rank 1 on top
    // room on the right for the value label of the longest bar
    setRange(c.values, 0, Math.max(1, ...rows.map((r) => r.value)) * 1.22);
    c.bars.data = {
      label: labels, value: rows.map((r) => r.value), text: rows.map((r) => fmt(r.value)),
      rank: rows.map((r) => r.rank), id: rows.map((r) => r.id),
    };
    selectBar(kind);
  }

  function setRange(range, start, end) {
    range.setv({ start, end, reset_start: start, reset_end: end });
  }

  function selectBar(kind) {
    const ids = charts[kind].bars.data.id;
    const i = ids.indexOf(state[kind]);
    programmatic = true;
    try {
      charts[kind].bars.selected.indices = i >= 0 ? [i] : [];
    } finally {
      programmatic = false;
    }
  }

  function showCurrent(top) {
    const s = top.interval_start_timestamp;
    const e = top.interval_end_timestamp;
    const hm = (text) => text.slice(11);
    $("current-utc").textContent = `${kpiflow.fmtUtc(s)} – ${hm(kpiflow.fmtUtc(e))}`;
    $("current-local").textContent =
      `local time: ${kpiflow.fmtLocal(s, false, true)} – ${hm(kpiflow.fmtLocal(e))}`;
    $("position").disabled = false;
    $("prev").disabled = top.previous === null;
    $("next").disabled = top.next === null;
    $("latest").disabled = top.next === null;
    const slider = $("position");
    slider.max = String(Math.max(0, Math.floor((state.end - 1 - state.start) / len())));
    slider.value = String(Math.max(0, Math.floor((s - state.start) / len())));
    for (const kind of Object.keys(KINDS)) {
      charts[kind].marker.location = s + len() / 2;
    }
  }

  function clearCharts() {
    document.body.dataset.hasData = "0";  // the CSS hides the empty charts
    for (const kind of Object.keys(KINDS)) {
      charts[kind].factors.factors = [];
      charts[kind].bars.data = { label: [], value: [], text: [], rank: [], id: [] };
      charts[kind].series.data = { t: [], mean: [], dot: [], when: [], text: [] };
      charts[kind].band.data = { x: [], y: [] };
      charts[kind].marker.location = NaN;
      $(`${kind}-series-title`).textContent = "";
      seriesKey[kind] = null;
    }
    $("current-utc").textContent = "no interval with data in this range";
    $("current-local").textContent = "";
    for (const id of ["prev", "next", "latest", "position"]) $(id).disabled = true;
  }

  async function loadTop(at, step) {
    const top = await kpiflow.api("api/v1/network/top/", {
      interval: state.interval, at, step, start: state.start, end: state.end,
    });
    if (top.interval_start_timestamp === null) {
      state.current = null;
      clearCharts();
      setStatus("No network KPIs in this range: pick another range or interval.", "empty");
      writeUrl();
      return;
    }
    state.current = top.interval_start_timestamp;
    document.body.dataset.hasData = "1";
    for (const kind of Object.keys(KINDS)) {
      if (state[kind] === null && top[kind].length) state[kind] = top[kind][0].id;
    }
    fillBars("services", top.services);
    fillBars("cells", top.cells);
    showCurrent(top);
    writeUrl();
    await Promise.all(Object.keys(KINDS).map((kind) => loadSeries(kind)));
    for (const kind of Object.keys(KINDS)) describeSelection(kind);
  }

  function describeSelection(kind) {
    const note = $(`${kind}-series-note`);
    const base = note.dataset.base || "";
    const inTop = charts[kind].bars.data.id.indexOf(state[kind]) >= 0;
    note.textContent = inTop || state.current === null ? base
      : `${base} ${label(kind, state[kind])} is not in the top ${cfg.topN} of the selected ` +
        `${intervalName()}.`;
  }

  async function loadSeries(kind) {
    const id = state[kind];
    if (id === null) return;
    const key = [id, state.interval, state.start, state.end].join("|");
    if (seriesKey[kind] === key) return;
    const s = await kpiflow.api("api/v1/network/series/", {
      kpi: kind, id, interval: state.interval, start: state.start, end: state.end,
      max_points: MAX_POINTS,
    });
    const fmt = KINDS[kind].fmt;
    const per = s.intervals_per_bucket;
    const nan = (v) => (v === null ? NaN : v);
    const rolled = per > 1;
    const text = s.mean.map((m, i) => {
      if (m === null) return `not in the top ${cfg.topN}`;
      if (!rolled) return fmt(m);
      return `mean ${fmt(m)} per ${intervalName()} (min ${fmt(s.min[i])}, max ` +
        `${fmt(s.max[i])}; in the top ${cfg.topN} in ${s.n[i]} of ${per})`;
    });
    const hm = (text) => text.slice(11);
    const mid = s.t.map((t) => t + s.bucket_ms / 2);  // a point stands mid-way in its time
    const when = s.t.map((t) => `${kpiflow.fmtUtc(t).slice(0, -4)} – ${hm(kpiflow.fmtUtc(t + s.bucket_ms))}` +
      ` (local ${hm(kpiflow.fmtLocal(t, false, true))} – ${hm(kpiflow.fmtLocal(t + s.bucket_ms))})`);
    // breaks wherever a bucket has no value: no line or band across missing intervals
    charts[kind].series.data = kpiflow.lineWithBreaks(
      mid, s.bucket_ms, { mean: s.mean.map(nan), when, text }, "mean", 150);
    charts[kind].band.data = rolled ? kpiflow.bandWithBreaks(mid, s.bucket_ms, s.min, s.max)
      : { x: [], y: [] };
    setRange(charts[kind].x, state.start, state.end);
    const top = Math.max(1, ...s.max.filter((v) => v !== null), ...s.mean.filter((v) => v !== null));
    setRange(charts[kind].y, 0, top * 1.08);
    const title = `${label(kind, id)}: ${KINDS[kind].what} per ${intervalName()}`;
    $(`${kind}-series-title`).textContent = title.charAt(0).toUpperCase() + title.slice(1);
    const bucket = formatSpan(s.bucket_ms);
    const note = $(`${kind}-series-note`);
    note.dataset.base = rolled
      ? `Each point: the mean over the ${intervalName()}s of ${bucket} (band: min to max), ` +
        `so ${kpiflow.fmtInt(s.t.length)} points cover the range. Gaps: not in the top ` +
        `${cfg.topN}. Click another bar to switch.`
      : `Each point: one ${intervalName()}. Gaps: ${intervalName()}s where it is not in the ` +
        `top ${cfg.topN}. Click another bar to switch.`;
    note.textContent = note.dataset.base;
    seriesKey[kind] = key;
  }

  function formatSpan(ms) {
    const minutes = ms / 60000;
    if (minutes < 60) return `${minutes} minutes`;
    const hours = minutes / 60;
    if (hours < 24) return hours === 1 ? "1 hour" : `${hours} hours`;
    const days = hours / 24;
    return days === 1 ? "1 day" : `${days} days`;
  }

  async function loadRangeInfo() {
    const ext = await kpiflow.api("api/v1/network/extent/", {
      interval: state.interval, start: state.start, end: state.end,
    });
    const unit = state.interval === 5 ? "5-minute intervals" : "hours";
    $("range-info").textContent =
      `${kpiflow.fmtInt(ext.intervals)} ${unit} with data in this range, which is ` +
      `${kpiflow.fmtLocal(state.start, false, true)} – ${kpiflow.fmtLocal(state.end)} ` +
      `in local time. ` + (state.first === null ? "" : `Data exists from ` +
      `${kpiflow.fmtUtc(state.first)} to ${kpiflow.fmtUtc(state.last + len())}.`);
  }

  async function show(at) {
    seriesKey.services = seriesKey.cells = null;
    showRangeInputs();
    await Promise.all([loadRangeInfo(), loadTop(at === null ? state.end - 1 : at, 0)]);
  }

  // Runs a user action; with `busy`, the page says it is loading until the action is done.
  function guard(fn, busy = true) {
    return async (...args) => {
      if (busy) setStatus("Loading…");
      try {
        await fn(...args);
        if (busy && document.body.dataset.state === "loading") setStatus("");
      } catch (err) {
        setStatus(`Could not load: ${err.message}`, "error");
      }
    };
  }

  async function start() {
    readUrl();
    // ask for the data while BokehJS builds the (empty) charts
    const extent = kpiflow.api("api/v1/network/extent/", { interval: state.interval });
    const names = ["services-bar", "cells-bar", "services-series", "cells-series"];
    const docs = await Promise.all(names.map((n) => kpiflow.embed(`chart-${n}`, n)));
    for (const kind of Object.keys(KINDS)) {
      const bar = docs[names.indexOf(`${kind}-bar`)];
      const series = docs[names.indexOf(`${kind}-series`)];
      charts[kind] = {
        bars: bar.get_model_by_name(`${kind}-bar-source`),
        factors: bar.get_model_by_name(`${kind}-bar-factors`),
        series: series.get_model_by_name(`${kind}-series-source`),
        marker: series.get_model_by_name(`${kind}-series-marker`),
        band: series.get_model_by_name(`${kind}-series-band`),
        values: bar.get_model_by_name(`${kind}-bar-values`),
        x: series.get_model_by_name(`${kind}-series-x`),
        y: series.get_model_by_name(`${kind}-series-y`),
      };
    }
    wire();
    if (!(await loadExtentAll(extent))) {
      noData();
      return;
    }
    if (state.start === null || state.end === null || state.end <= state.start) defaultRange();
    await show(state.at);
  }

  function noData() {
    clearCharts();
    setStatus("No network KPIs yet: put files in DATA_DIR and run `kpiflow network run` " +
              "(or press Run now on the Ingest page).", "empty");
  }

  function wire() {
    $("range-form").addEventListener("submit", guard(async (event) => {
      event.preventDefault();
      const from = kpiflow.fromInputUtc($("from").value);
      const to = kpiflow.fromInputUtc($("to").value);
      const problem =
        from === null ? `From: "${$("from").value}" is not a date; write YYYY-MM-DD HH:MM (UTC), e.g. 2026-11-23 18:00.` :
        to === null ? `To: "${$("to").value}" is not a date; write YYYY-MM-DD HH:MM (UTC), e.g. 2026-11-24 00:00.` :
        to <= from ? `To (${$("to").value} UTC) must be later than From (${$("from").value} UTC).` : "";
      $("from").setAttribute("aria-invalid", String(from === null || (to !== null && to <= from)));
      $("to").setAttribute("aria-invalid", String(to === null || (from !== null && to <= from)));
      if (problem) {
        setStatus(problem, "error");
        return;
      }
      state.start = from;
      state.end = to;
      await show(state.current);
    }));
    $("interval").addEventListener("change", guard(async () => {
      state.interval = Number($("interval").value);
      if (!(await loadExtentAll())) return noData();
      if (state.start === null || state.end === null) defaultRange();
      await show(state.current);
    }));
    for (const button of document.querySelectorAll(".presets button")) {
      button.addEventListener("click", guard(async () => {
        if (!(await loadExtentAll())) return noData();
        const hours = Number(button.dataset.hours);
        state.end = state.last + len();
        state.start = hours ? Math.max(state.first, state.end - hours * 3600000) : state.first;
        await show(null);
      }));
    }
    $("prev").addEventListener("click", guard(() => loadTop(state.current, -1)));
    $("next").addEventListener("click", guard(() => loadTop(state.current, 1)));
    $("latest").addEventListener("click", guard(() => loadTop(state.end - 1, 0)));
    $("position").addEventListener("change", guard(() =>
      loadTop(state.start + Number($("position").value) * len(), 0)));
  }

  window.kpiflowNetwork = {
    state,
    tapped: guard(async (kind, indices) => {  // not busy: selections we set come here too
      if (programmatic || !charts[kind]) return;
      // a mouse click leaves the chart focused, and BokehJS draws a dotted frame around it
      if (document.activeElement && document.activeElement.closest(".chart")) {
        document.activeElement.blur();
      }
      if (!indices.length) {  // a click beside the bars: keep the shown series selected
        selectBar(kind);
        return;
      }
      const id = charts[kind].bars.data.id[indices[0]];
      if (id === state[kind]) return;
      state[kind] = id;
      writeUrl();
      setStatus("Loading…");
      await loadSeries(kind);
      describeSelection(kind);
      setStatus("");
    }, false),
  };

  document.addEventListener("DOMContentLoaded", guard(start));
})();
