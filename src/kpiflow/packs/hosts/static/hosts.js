// Hosts page: fills the tables from the API and charts a clicked process (BokehJS); the shell's
// Auto-refresh fetches them again in place (pausable; its interval is the user's).
(function () {
  "use strict";
  const status = document.getElementById("hosts-status");
  const fmt = (v, d = 1) => (v === null || v === undefined ? "" : Number(v).toFixed(d));
  const when = (t) => (t ? new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19) : "");
  let hostNames = {};
  let chosen = null;

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function fill(id, rows, columns, onClick) {
    const body = document.querySelector("#" + id + " tbody");
    body.replaceChildren();
    for (const r of rows) {
      const tr = document.createElement("tr");
      for (const c of columns) cell(tr, c(r));
      if (onClick) {
        tr.classList.add("clickable");
        tr.addEventListener("click", () => onClick(r));
      }
      body.appendChild(tr);
    }
  }

  // With the API token when one is given (KPIFLOW_API_TOKEN_READS): a refused read opens the
  // token prompt.
  const json = (url) => kpiflow.api(url);

  function choose(r, resource) {
    chosen = { host_id: r.host_id, pid: r.pid, started: r.started, name: r.name, resource };
    history();
  }

  // The shell loads BokehJS itself; its plotting API is a second bundle of the same package.
  let plotting = null;
  function bokehApi() {
    if (!plotting) {
      plotting = new Promise((resolve, reject) => {
        const main = document.querySelector("script[src*='bokeh.min.js']");
        const tag = document.createElement("script");
        tag.src = main.getAttribute("src").replace("bokeh.min.js", "bokeh-api.min.js");
        tag.onload = resolve;
        tag.onerror = () => reject(new Error("could not load " + tag.src));
        document.head.appendChild(tag);
      });
    }
    return plotting;
  }

  async function history() {
    if (!chosen) return;
    await bokehApi();
    const q = new URLSearchParams({ host_id: chosen.host_id, pid: chosen.pid,
      started: chosen.started, name: chosen.name, resource: chosen.resource });
    const h = await json("api/v1/hosts/history?" + q);
    document.getElementById("history-title").textContent =
      "History: " + chosen.name + " (pid " + chosen.pid + ") " + chosen.resource + " %";
    const xs = h.points.map((p) => p.t * 1000);
    const plot = Bokeh.Plotting.figure({ height: 300, sizing_mode: "stretch_width",
      x_axis_type: "datetime", y_range: new Bokeh.Range1d({ start: 0, end: 100 }),
      x_axis_label: "time (UTC)", y_axis_label: chosen.resource + " %",
      title: h.resolution_s < 1 ? "every sample" : "1 point per " + h.resolution_s + " s" });
    // Bokeh's defaults label a short range ":17:20" (no hour): whole clock times instead.
    plot.xaxis.formatter = new Bokeh.DatetimeTickFormatter({ seconds: "%H:%M:%S",
      minsec: "%H:%M:%S", minutes: "%H:%M", hourmin: "%H:%M", hours: "%H:%M",
      days: "%b %d", months: "%b %Y" });
    plot.line({ x: xs, y: h.points.map((p) => p.mean), line_width: 2, legend_label: "value" });
    if (xs.length) {
      plot.line({ x: [xs[0], xs[xs.length - 1]], y: [h.threshold, h.threshold],
        line_dash: "dashed", line_color: "red", legend_label: "threshold" });
    }
    if (h.trend) {
      plot.line({ x: [h.trend.from.t * 1000, h.trend.to.t * 1000],
        y: [h.trend.from.value, h.trend.to.value], line_color: "orange", line_width: 2,
        legend_label: "trend" });
    }
    const target = document.getElementById("history-chart");
    target.replaceChildren();
    await Bokeh.Plotting.show(plot, target);
    target.dataset.points = String(h.points.length);
  }

  async function refresh() {
    try {
      const [hosts, alarms, cpu, mem] = await Promise.all([json("api/v1/hosts/hosts"),
        json("api/v1/hosts/alarms"), json("api/v1/hosts/top?by=cpu&n=10"),
        json("api/v1/hosts/top?by=mem&n=10")]);
      hostNames = Object.fromEntries(hosts.map((h) => [h.host_id, h.hostname]));
      const host = (r) => hostNames[r.host_id] || r.host_id;
      fill("hosts", hosts, [(h) => h.hostname, (h) => h.ip, (h) => h.cores ?? "",
        (h) => when(h.last_seen), (h) => fmt(h.samples_per_s, 2)]);
      fill("alarms", alarms, [(a) => a.state, host, (a) => a.name, (a) => a.pid,
        (a) => a.resource, (a) => fmt(a.evidence.value), (a) => fmt(a.evidence.slope_per_min, 2),
        (a) => fmt(a.evidence.r2, 2), (a) => a.evidence.samples,
        (a) => when(a.evidence.predicted_crossing)], (a) => choose(a, a.resource));
      for (const tr of document.querySelectorAll("#alarms tbody tr")) {
        tr.classList.add(tr.firstChild.textContent === "RED" ? "red" : "amber");
      }
      document.getElementById("no-alarms").hidden = alarms.length > 0;
      fill("top-cpu", cpu, [host, (r) => r.name, (r) => r.pid, (r) => fmt(r.cpu)],
        (r) => choose(r, "cpu"));
      fill("top-mem", mem, [host, (r) => r.name, (r) => r.pid, (r) => fmt(r.mem)],
        (r) => choose(r, "mem"));
      if (!chosen && cpu.length) choose(cpu[0], "cpu"); else await history();
      status.textContent = "updated " + when(Date.now() / 1000) + " UTC";
      document.body.dataset.hostsLoaded = "1";
    } catch (err) {
      status.textContent = "could not refresh: " + err.message;
    }
  }

  kpiflow.refreshInPlace = refresh;
  refresh();
})();
