// The dashboard in the browser: draws the map with ECharts from the store's boundaries, keeps
// the panels current (the live event stream, plus a light poll of version stamps for the
// incident and complaint panels) and shows the CCTV sites near a chosen incident.
(function () {
  "use strict";
  const configEl = document.getElementById("dash-config");
  if (!configEl) return;
  const config = JSON.parse(configEl.textContent);
  const W = config.words;
  const PM25 = [
    { lte: 15, color: "#4e9f5d", label: "good" },
    { gt: 15, lte: 35, color: "#e6c440" },
    { gt: 35, lte: 75, color: "#e07b39" },
    { gt: 75, color: "#b83227" },
  ];
  const POLL_MS = 800;
  const SENSOR_REFRESH_MS = 5000;
  const ADMIN_REFRESH_MS = 300000;
  const printing = document.body.classList.contains("printing");

  let chart = null;
  let shapes = null;
  let mapData = readMapData();
  let cameras = [];
  let selected = null;
  const timers = {};
  const lastRefresh = {};

  function $(selector, root) {
    return (root || document).querySelector(selector);
  }

  function query(extra) {
    const params = new URLSearchParams({ lang: config.lang });
    if (config.district) params.set("district", config.district);
    Object.entries(extra || {}).forEach(function (kv) {
      params.set(kv[0], kv[1]);
    });
    return params.toString();
  }

  function readMapData() {
    const el = $("#panel-status .map-data");
    try {
      return el ? JSON.parse(el.textContent) : { air: {}, incidents: [], pulse: {} };
    } catch (err) {
      return { air: {}, incidents: [], pulse: {} };
    }
  }

  function setLive(state, text) {
    const el = $("#live-state");
    if (!el) return;
    el.dataset.state = state;
    el.textContent = text || W["live_" + state] || "";
  }

  // ------------------------------------------------------------------ map
  function mapFailed() {
    const msg = $("#map-msg");
    msg.textContent = W.map_error;
    msg.classList.add("error");
    msg.hidden = false;
    document.body.dataset.map = "error";
  }

  async function initMap() {
    if (!window.echarts) return mapFailed();
    try {
      const response = await fetch("/api/v1/dashboard/geo?" + query());
      if (!response.ok) throw new Error(String(response.status));
      shapes = await response.json();
    } catch (err) {
      return mapFailed();
    }
    if (!shapes.districts.features.length) return mapFailed();
    window.echarts.registerMap("citymeter", shapes.districts);
    chart = window.echarts.init($("#map"), null, { renderer: "svg" });
    chart.on("click", function (p) {
      if (p.seriesName === "incidents" && p.data) selectIncident(p.data.number);
      else if (p.seriesType === "map" && !config.district && p.name) {
        window.location.assign("/districts/" + encodeURIComponent(p.name) + "?" + query());
      }
    });
    window.addEventListener("resize", function () {
      chart.resize();
    });
    draw();
    $("#map-msg").hidden = true;
    document.body.dataset.map = "ready";
  }

  function districtName(code) {
    const f = shapes.districts.features.find(function (x) {
      return x.properties.name === code;
    });
    return f ? f.properties[config.lang] || code : code;
  }

  function draw() {
    if (!chart || !shapes) return;
    const wide = $("#map").clientWidth > 700;
    const single = !!config.district;
    const air = shapes.districts.features.map(function (f) {
      const a = mapData.air[f.properties.name] || {};
      return { name: f.properties.name, value: a.pm25 == null ? NaN : a.pm25, pm10: a.pm10 };
    });
    chart.setOption(
      {
        animation: false,
        aria: { enabled: false },
        tooltip: {
          trigger: "item",
          formatter: function (p) {
            if (p.seriesName === "incidents") return p.data.label;
            if (p.seriesName === "cctv") return p.data.label;
            if (p.seriesType === "map") {
              const value = isNaN(p.value) ? W.band_none : p.value + " " + W.ugm3;
              return districtName(p.name) + "<br>" + W.pm25 + ": " + value;
            }
            return "";
          },
        },
        visualMap: {
          type: "piecewise",
          show: false,
          seriesIndex: 0,
          pieces: PM25,
          outOfRange: { color: "#d5dbe3" },
        },
        geo: {
          map: "citymeter",
          roam: !printing,
          scaleLimit: { min: 0.8, max: 12 },
          layoutCenter: ["50%", "50%"],
          layoutSize: "96%",
          itemStyle: { areaColor: "#d5dbe3", borderColor: "#ffffff", borderWidth: single ? 2 : 1.2 },
          emphasis: { itemStyle: { areaColor: null, borderColor: "#1d2733", borderWidth: 2 }, label: { show: true } },
          label: {
            show: wide && !single,
            fontSize: 11,
            color: "#1d2733",
            formatter: function (p) {
              return districtName(p.name);
            },
          },
          select: { disabled: true },
        },
        series: [
          { type: "map", name: "air", geoIndex: 0, data: air },
          {
            type: "lines",
            name: "neighbourhoods",
            coordinateSystem: "geo",
            polyline: true,
            silent: true,
            lineStyle: { color: single ? "rgba(29,39,51,0.45)" : "rgba(255,255,255,0.6)", width: single ? 1 : 0.5 },
            data: shapes.neighbourhoods.map(function (ring) {
              return { coords: ring };
            }),
            z: 3,
          },
          {
            type: "scatter",
            name: "incidents",
            coordinateSystem: "geo",
            data: mapData.incidents.map(function (i) {
              return { value: [i.lon, i.lat, i.severity], number: i.number, label: i.label };
            }),
            symbolSize: function (v) {
              return 7 + v[2] * 2.5;
            },
            itemStyle: {
              color: function (p) {
                return p.data.number === selected ? "#0b5cad" : "#1d2733";
              },
              borderColor: "#ffffff",
              borderWidth: 1.5,
            },
            z: 5,
          },
          {
            type: "scatter",
            name: "cctv",
            coordinateSystem: "geo",
            symbol: "rect",
            symbolSize: 8,
            data: cameras
              .filter(function (c) {
                return c.lat != null && c.lon != null;
              })
              .map(function (c) {
                return { value: [c.lon, c.lat], label: (c.name || c.entity_id) + " · " + Math.round(c.distance_m) + " m" };
              }),
            itemStyle: { color: "#0b5cad", borderColor: "#ffffff", borderWidth: 1 },
            z: 6,
          },
        ],
      },
      { replaceMerge: ["series"] }
    );
  }

  // ------------------------------------------------------------------ CCTV near an incident
  async function selectIncident(number) {
    selected = number;
    const box = $("#cctv");
    box.textContent = "";
    const p = document.createElement("p");
    p.className = "empty-note";
    p.textContent = W.cctv_loading;
    box.appendChild(p);
    document.querySelectorAll(".incident[data-number]").forEach(function (li) {
      li.classList.toggle("selected", li.dataset.number === number);
    });
    try {
      const response = await fetch("/api/v1/dashboard/incidents/" + encodeURIComponent(number) + "/cctv");
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      cameras = data.cctv;
      box.textContent = "";
      const title = document.createElement("p");
      title.className = "note";
      title.textContent = number;
      box.appendChild(title);
      if (!cameras.length) {
        const none = document.createElement("p");
        none.className = "empty-note";
        none.textContent = W.cctv_none.replace("{radius}", String(Math.round(data.radius_m)));
        box.appendChild(none);
      } else {
        const list = document.createElement("ul");
        list.className = "cctv-list";
        cameras.forEach(function (c) {
          const li = document.createElement("li");
          li.textContent = (c.name || c.entity_id) + " · " + Math.round(c.distance_m) + " m" + (c.status ? " · " + c.status : "");
          list.appendChild(li);
        });
        box.appendChild(list);
      }
    } catch (err) {
      cameras = [];
      box.textContent = "";
      const fail = document.createElement("p");
      fail.className = "error";
      fail.textContent = W.cctv_error;
      box.appendChild(fail);
    }
    draw();
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest(".incident-pick");
    if (button) selectIncident(button.dataset.number);
  });

  // ------------------------------------------------------------------ live refresh
  async function refresh(area) {
    delete timers[area];
    lastRefresh[area] = Date.now();
    const holder = document.getElementById("panel-" + area);
    if (!holder) return;
    try {
      const response = await fetch("/dashboard/panels/" + area + "?" + query(), {
        headers: { Accept: "text/html" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(String(response.status));
      const html = await response.text();
      const focused = document.activeElement && holder.contains(document.activeElement) ? document.activeElement.id : null;
      holder.innerHTML = html;
      if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
      if (area === "status") {
        mapData = readMapData();
        if (selected) {
          document.querySelectorAll(".incident[data-number]").forEach(function (li) {
            li.classList.toggle("selected", li.dataset.number === selected);
          });
        }
        draw();
        const updated = $("#updated");
        if (updated && mapData.updated) updated.textContent = W.updated.replace("{time}", mapData.updated);
      }
      // The district table sets the status and voice figures side by side: keep it in step.
      if (area === "status" || area === "voice") schedule("districts", SENSOR_REFRESH_MS);
      document.body.dataset.refreshed = String(Date.now());
    } catch (err) {
      setLive("off", W.refresh_error);
    }
  }

  function schedule(area, minGap) {
    const since = Date.now() - (lastRefresh[area] || 0);
    const wait = Math.max(0, (minGap || 0) - since);
    const due = Date.now() + wait;
    if (timers[area]) {
      if (timers[area].due <= due) return;
      window.clearTimeout(timers[area].id);
    }
    timers[area] = {
      due: due,
      id: window.setTimeout(function () {
        refresh(area);
      }, wait),
    };
  }

  const pulse = { incidents: mapData.pulse.incidents, complaints: mapData.pulse.complaints };

  async function poll() {
    try {
      const response = await fetch("/api/v1/dashboard/pulse?" + query(), { credentials: "same-origin" });
      if (response.ok) {
        const data = (await response.json()).pulse;
        if (pulse.incidents != null && data.incidents !== pulse.incidents) schedule("status", 0);
        if (pulse.complaints != null && data.complaints !== pulse.complaints) schedule("voice", 0);
        pulse.incidents = data.incidents;
        pulse.complaints = data.complaints;
      }
    } catch (err) {
      setLive("off");
    }
    window.setTimeout(poll, document.hidden ? POLL_MS * 4 : POLL_MS);
  }

  function connectLive() {
    if (!window.EventSource) return;
    const params = new URLSearchParams({ kinds: "entity,alert,incident,complaint,suggestion" });
    if (config.district) params.set("area", config.district);
    const source = new EventSource("/api/v1/live?" + params.toString());
    source.onopen = function () {
      setLive("on");
    };
    source.onerror = function () {
      setLive("off");
    };
    source.addEventListener("entity.updated", function () {
      schedule("status", SENSOR_REFRESH_MS);
    });
    source.addEventListener("alert", function () {
      schedule("status", 0);
    });
    ["incident.created", "incident.updated"].forEach(function (kind) {
      source.addEventListener(kind, function () {
        schedule("status", 0);
      });
    });
    ["complaint.created", "complaint.updated", "suggestion.created"].forEach(function (kind) {
      source.addEventListener(kind, function () {
        schedule("voice", 0);
      });
    });
  }

  initMap();
  if (!printing) {
    connectLive();
    window.setTimeout(poll, POLL_MS);
    window.setInterval(function () {
      refresh("administration");
    }, ADMIN_REFRESH_MS);
  } else {
    setLive("wait", "");
  }
})();
