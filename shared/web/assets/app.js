// Tandem console: the CSRF header on every htmx request, and ECharts on [data-chart].
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
      chart.setOption({
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
  document.addEventListener("DOMContentLoaded", function () { charts(document); });
  document.addEventListener("htmx:afterSwap", function (e) { charts(e.target); });
})();
