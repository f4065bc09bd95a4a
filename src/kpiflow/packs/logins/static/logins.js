// The Logins page: read the controls, fetch the plot for them, embed it (BokehJS is local).
(() => {
  const form = document.getElementById("logins-form");
  const status = document.getElementById("logins-status");
  const target = document.getElementById("logins-plot");

  async function draw() {
    const params = {
      start: document.getElementById("logins-start").value,
      end: document.getElementById("logins-end").value,
      aggregate: document.getElementById("logins-aggregate").value,
    };
    // a wrong range is named here, with the field marked, before asking the server
    const startField = document.getElementById("logins-start");
    const endField = document.getElementById("logins-end");
    const backwards = params.start && params.end && params.end < params.start;
    startField.setAttribute("aria-invalid", String(!params.start));
    endField.setAttribute("aria-invalid", String(!params.end || backwards));
    const problem = !params.start ? "Start: pick a date (YYYY-MM-DD), e.g. 2024-01-01."
      : !params.end ? "End: pick a date (YYYY-MM-DD), e.g. 2024-06-30."
      : backwards ? `End (${params.end}) must not be before Start (${params.start}).` : "";
    if (problem) {
      status.textContent = problem;
      status.className = "hint error";
      document.body.dataset.state = "error";
      return;
    }
    document.body.dataset.state = "loading";
    status.className = "hint";
    status.textContent = "Loading…";
    try {
      const [plot, raw] = await Promise.all([
        kpiflow.api("usage/login/plot", params), kpiflow.api("usage/login/raw", params)]);
      for (const doc of Bokeh.documents.slice()) doc.clear();
      target.replaceChildren();
      await Bokeh.embed.embed_item(plot.data, "logins-plot");
      const partial = raw.data.filter((p) => !p.complete).length;
      status.textContent = `${raw.data.length} periods (${raw.week_ends} weeks, days in ` +
        `${raw.timezone}); ${partial} not complete; extracted through ${raw.checkpoint || "never"}.`;
      const url = new URL(window.location.href);
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      window.history.replaceState(null, "", url);
      document.body.dataset.state = "ready";
    } catch (err) {
      status.textContent = `Could not load: ${err.message}`;
      status.className = "hint error";
      document.body.dataset.state = "error";
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); draw(); });
  document.addEventListener("DOMContentLoaded", draw);
})();
