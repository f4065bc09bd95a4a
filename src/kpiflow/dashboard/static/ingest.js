// Ingest page: the Run now button (POST api/v1/runs/{pack} with the bearer token).
"use strict";
(function () {
  const form = document.getElementById("run-now");
  if (!form) return;
  const token = document.getElementById("run-token");
  const status = document.getElementById("run-status");
  const button = document.getElementById("run-button");
  const KEY = "kpiflow.apiToken";
  token.value = sessionStorage.getItem(KEY) || "";

  function say(text, kind) {
    status.textContent = text;
    status.className = "status " + (kind || "");
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const pack = document.getElementById("run-pack").value;
    const headers = {};
    if (token.value.trim()) headers.Authorization = "Bearer " + token.value.trim();
    button.disabled = true;
    say("Running… this waits until the pass is done.", "busy");
    try {
      const body = await kpiflow.api("api/v1/runs/" + encodeURIComponent(pack), null,
                                     { method: "POST", headers });
      sessionStorage.setItem(KEY, token.value.trim());
      // The pack's own counts, as it named them: each pack counts different things.
      const parts = Object.entries(body.counts || {}).map(([name, value]) =>
        `${name.replace(/_/g, " ")} ${Number.isInteger(value) ? kpiflow.fmtInt(value)
                                                               : value.toFixed(2)}`);
      say(`Done (${body.pack} ${body.job}): ${parts.join(", ") || "ok"}. Reloading…`, "ok");
      setTimeout(() => window.location.reload(), 1200);
    } catch (err) {
      let text = err.message;
      if (err.status === 401) text = "Refused: enter the API token (" + err.message + ")";
      else if (err.status === 403) text = "Refused: " + err.message;
      else if (err.status === 409) text = "Busy: " + err.message;
      say(text, "error");
      if (err.status === 403) sessionStorage.removeItem(KEY);
    } finally {
      button.disabled = false;
    }
  });
})();
