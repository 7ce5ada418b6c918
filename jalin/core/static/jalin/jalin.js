// Small behaviours that must not be inline scripts (CSP forbids them).
// Everything here is an enhancement: pages work with JavaScript off.

// <select data-autosubmit> submits its form on change (language switch).
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("[data-autosubmit]")) el.form.requestSubmit();
});

// The organization switcher closes on Escape (focus returns to it) and on a click elsewhere.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  for (const details of document.querySelectorAll("details.org-switcher[open]")) {
    details.open = false;
    details.querySelector("summary").focus();
  }
});
document.addEventListener("click", (event) => {
  for (const details of document.querySelectorAll("details.org-switcher[open]")) {
    if (!details.contains(event.target)) details.open = false;
  }
});

// Live countdowns: <time data-countdown="2026-11-29T08:00:00Z">…</time> shows the time left
// (or overdue) and updates every 30 s; the server-rendered text is the no-JS fallback.
(function () {
  function format(seconds) {
    const sign = seconds < 0 ? "-" : "";
    let s = Math.abs(Math.round(seconds));
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60);
    if (d) return `${sign}${d}d ${h}h`;
    if (h) return `${sign}${h}h ${m}m`;
    return `${sign}${m}m`;
  }
  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll("time[data-countdown]")) {
      const left = (Date.parse(el.dataset.countdown) - now) / 1000;
      if (Number.isNaN(left)) continue;
      el.textContent = format(left);
      el.classList.toggle("is-overdue", left < 0);
    }
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  setInterval(tick, 30000);
})();
