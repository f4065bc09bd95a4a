// Auto-refresh of every page: reload after the chosen interval (kept per browser), pausable.
// It waits while the tab is hidden or the user is typing in a field, so a reload never takes
// a half-typed date away. A page that can fetch its data again in place (nothing it shows is
// lost) sets `kpiflow.refreshInPlace` to an async function: it is called instead of a reload.
"use strict";
(function () {
  const EVERY = "kpiflow.refreshSeconds";
  const PAUSED = "kpiflow.refreshPaused";
  const select = document.getElementById("refresh-every");
  const button = document.getElementById("refresh-pause");
  const status = document.getElementById("refresh-status");
  if (!select || !button || !status) return;
  const stored = localStorage.getItem(EVERY);
  if (stored !== null && [...select.options].some((o) => o.value === stored)) select.value = stored;
  let paused = localStorage.getItem(PAUSED) === "1";
  let left = 0;

  const seconds = () => Number(select.value);
  function busy() {
    const active = document.activeElement;
    const typing = active && active !== select && active.matches("input, textarea, select");
    return document.hidden || typing;
  }
  function show() {
    button.textContent = paused ? "Resume" : "Pause";
    button.setAttribute("aria-pressed", String(paused));
    button.hidden = seconds() === 0;
    status.textContent = seconds() === 0 ? "" : paused ? "paused" : busy() ? "waiting" : `in ${left} s`;
  }
  function restart() {
    left = seconds();
    show();
  }
  select.addEventListener("change", () => {
    localStorage.setItem(EVERY, select.value);
    restart();
  });
  button.addEventListener("click", () => {
    paused = !paused;
    localStorage.setItem(PAUSED, paused ? "1" : "0");
    restart();
  });
  setInterval(() => {
    if (!paused && seconds() > 0 && !busy()) {
      left -= 1;
      if (left <= 0) {
        const inPlace = window.kpiflow && window.kpiflow.refreshInPlace;
        if (!inPlace) {
          window.location.reload();
          return;
        }
        left = seconds();
        Promise.resolve(inPlace()).catch(() => {});  // the page says itself what went wrong
      }
    }
    show();
  }, 1000);
  restart();
})();
