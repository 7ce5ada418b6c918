// Charts without inline scripts (CSP): a page includes the chart library and this file
// ({% include "core/_chart_assets.html" %}) and marks up each chart as
//
//   {{ chart|json_script:"chart-sla" }}
//   <canvas data-chart="chart-sla" role="img" aria-label="..."></canvas>
//
// where `chart` is a Chart.js config ({"type": "line", "data": {...}, "options": {...}}),
// built on the server (jalin.core.charts). The table next to a chart stays the accessible,
// exportable source of the same numbers.
(function () {
  function render(root) {
    if (typeof Chart === "undefined") return;
    for (const canvas of root.querySelectorAll("canvas[data-chart]")) {
      if (canvas.dataset.chartReady) continue;
      const source = document.getElementById(canvas.dataset.chart);
      if (!source) continue;
      const config = JSON.parse(source.textContent);
      config.options = Object.assign({ responsive: true, maintainAspectRatio: false,
                                       animation: false }, config.options || {});
      new Chart(canvas, config);
      canvas.dataset.chartReady = "1";
    }
  }
  document.addEventListener("DOMContentLoaded", () => render(document));
  document.addEventListener("htmx:afterSettle", (event) => render(event.target));
})();
