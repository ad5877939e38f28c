// Charts of the portal pages, drawn with ECharts from the JSON island #indicator-data.
// Every chart has a table beside it with the same figures; the chart itself is aria-hidden.
(function () {
  "use strict";
  var island = document.getElementById("indicator-data");
  if (!island || typeof echarts === "undefined") return;
  var data = JSON.parse(island.textContent);
  var lang = document.documentElement.lang || "ko";
  var fmt = new Intl.NumberFormat(lang === "ko" ? "ko-KR" : "en-GB", { maximumFractionDigits: 2 });
  var number = function (v) { return v === null || v === undefined ? "–" : fmt.format(v); };
  // One palette for every chart: blue for the measure, orange for targets, two hues for sex.
  var colours = { main: "#1f5fa8", target: "#c0560b", male: "#2a7ab0", female: "#b0456d" };

  // A rounded axis range around the given numbers (values and targets), with a little room.
  function span(numbers) {
    var shown = numbers.filter(function (v) { return v !== null && v !== undefined; });
    if (!shown.length) return [null, null];
    var lo = Math.min.apply(null, shown), hi = Math.max.apply(null, shown);
    var room = (hi - lo) * 0.08 || Math.abs(hi) * 0.05 || 1;
    var step = Math.pow(10, Math.floor(Math.log10(room)));
    return [Math.floor((lo - room) / step) * step, Math.ceil((hi + room) / step) * step];
  }

  function draw(kind, element) {
    var chart = echarts.init(element, null, { renderer: "svg" });
    var option = null;
    if (kind === "trend") {
      var t = data.trend;
      var targets = t.targets.map(function (x) { return x.value; });
      var bounds = span(t.values.concat(targets));
      var marks = t.targets.map(function (x) {
        return { yAxis: x.value, name: x.label, label: { formatter: x.label, position: "insideEndTop" } };
      });
      option = {
        color: [colours.main],
        tooltip: { trigger: "axis", valueFormatter: number },
        grid: { left: 56, right: 24, top: 24, bottom: 40 },
        xAxis: { type: "category", data: t.labels },
        // The axis stretches to show the pledge targets too, not only the values.
        yAxis: { type: "value", name: data.unit, min: bounds[0], max: bounds[1],
          axisLabel: { formatter: number } },
        series: [{
          name: data.name, type: "line", data: t.values, connectNulls: false, showSymbol: t.values.length < 40,
          markLine: marks.length ? { symbol: "none", lineStyle: { color: colours.target, type: "dashed" }, data: marks } : undefined
        }]
      };
    } else if (kind === "sex") {
      option = {
        color: [colours.main],
        tooltip: { valueFormatter: number },
        grid: { left: 72, right: 24, top: 10, bottom: 24 },
        xAxis: { type: "value", name: data.unit },
        yAxis: { type: "category", data: data.sex.labels },
        series: [{ type: "bar", data: data.sex.values.map(function (v, i) {
          return { value: v, itemStyle: { color: i === 0 ? colours.male : colours.female } };
        }) }]
      };
    } else if (kind === "pyramid") {
      var p = data.pyramid;
      var hasSex = p.male.some(function (v) { return v !== null; });
      option = {
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" },
          valueFormatter: function (v) { return number(Math.abs(v)); } },
        legend: { top: 0 },
        grid: { left: 64, right: 24, top: 28, bottom: 24 },
        xAxis: { type: "value", axisLabel: { formatter: function (v) { return number(Math.abs(v)); } } },
        yAxis: { type: "category", data: p.labels },
        series: hasSex ? [
          { name: p.names.male, type: "bar", stack: "s", color: colours.male,
            data: p.male.map(function (v) { return v === null ? null : -v; }) },
          { name: p.names.female, type: "bar", stack: "s", color: colours.female, data: p.female }
        ] : [{ name: p.names.total, type: "bar", color: colours.main, data: p.total }]
      };
    } else if (kind === "ranking") {
      var r = data.ranking;
      option = {
        color: [colours.main],
        tooltip: { valueFormatter: number },
        grid: { left: 96, right: 32, top: 10, bottom: 24 },
        xAxis: { type: "value", name: data.unit, scale: true },
        yAxis: { type: "category", data: r.labels.slice().reverse() },
        series: [{ type: "bar", data: r.values.slice().reverse(),
          label: { show: true, position: "right", formatter: function (x) { return number(x.value); } } }]
      };
    }
    if (option) {
      chart.setOption(option);
      window.addEventListener("resize", function () { chart.resize(); });
    }
  }

  document.querySelectorAll("[data-chart]").forEach(function (element) {
    var kind = element.getAttribute("data-chart");
    if (kind === "sex" && !data.sex) return;
    if (kind === "pyramid" && !data.pyramid) return;
    if (kind === "ranking" && !data.ranking) return;
    draw(kind, element);
  });
})();
