// Tandem console: the CSRF header on every htmx request, a question before every
// destructive action ([data-confirm] on a form or button), and ECharts on [data-chart]
// (either {labels, values, name} for a bar chart, or {option} for any ECharts option).
(function () {
  "use strict";
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }
  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRF-Token"] = csrf();
  });
  function charts(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.ready) return;
      var d = JSON.parse(el.dataset.chart);
      var chart = window.echarts.init(el);
      if (d.option) {
        chart.setOption(d.option);
      } else chart.setOption({
        grid: { left: 40, right: 16, top: 16, bottom: 40 },
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: d.labels },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", name: d.name, data: d.values, itemStyle: { color: "#1769aa" } }]
      });
      window.addEventListener("resize", function () { chart.resize(); });
      el.dataset.ready = "1";
    });
  }
  document.addEventListener("submit", function (e) {
    var f = e.target, q = f.getAttribute("data-confirm");
    var b = e.submitter;
    if (b && b.getAttribute("data-confirm")) q = b.getAttribute("data-confirm");
    if (q && !window.confirm(q)) e.preventDefault();
  }, true);
  document.addEventListener("DOMContentLoaded", function () { charts(document); });
  document.addEventListener("htmx:afterSwap", function (e) { charts(e.target); });
})();
