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
    document.body.dataset.state = "loading";
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
      status.textContent = err.message;
      document.body.dataset.state = "error";
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); draw(); });
  document.addEventListener("DOMContentLoaded", draw);
})();
