/* Dashboard charts: every element with a data-chart attribute holds a complete ECharts
   option as JSON (shaped on the server, gateway/dashboard/charts.py); this file only hands
   it to ECharts, on page load and on every piece of HTML that htmx swaps in. No inline
   scripts: the dashboard's Content-Security-Policy allows scripts from this origin only. */
(function () {
  "use strict";

  function render(root) {
    if (typeof echarts === "undefined") return;
    var scope = root && root.querySelectorAll ? root : document;
    var elements = Array.prototype.slice.call(scope.querySelectorAll("[data-chart]"));
    if (scope.matches && scope.matches("[data-chart]")) elements.push(scope);
    elements.forEach(function (el) {
      if (echarts.getInstanceByDom(el)) return;
      var option;
      try {
        option = JSON.parse(el.getAttribute("data-chart"));
      } catch (e) {
        el.textContent = "chart data unreadable";
        return;
      }
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      el.setAttribute("data-rendered", "1");
    });
  }

  function resizeAll() {
    if (typeof echarts === "undefined") return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    render(document);
    if (typeof htmx !== "undefined") {
      htmx.onLoad(function (el) { render(el); });
    }
  });
  window.addEventListener("resize", resizeAll);

  // htmx leaves the page as it was on an error answer: say so next to what was clicked.
  document.addEventListener("htmx:responseError", function (event) {
    var origin = event.detail && event.detail.elt;
    if (!origin || !origin.insertAdjacentElement) return;
    var note = document.createElement("span");
    note.className = "error";
    var lang = document.documentElement.getAttribute("lang");
    note.textContent = (lang === "en" ? " Failed (HTTP " : " 操作失败（HTTP ") +
      event.detail.xhr.status + (lang === "en" ? ")" : "）");
    origin.insertAdjacentElement("afterend", note);
  });
})();
