/* Layers, controls and views of the zoning map page. Needs only Leaflet (global L).
 *
 * The page defines `zoningData` (units, outlines, schools, colours, names) before the maps are
 * created; every layer is built from it here so the geometry is written into the page once and
 * shared by the proposed and the current map.
 */
var zoning = (function () {
  "use strict";
  var data = null;
  var maps = {};
  var layers = {};
  var bounds = null;

  function esc(v) {
    return String(v).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function num(v, digits) {
    if (v === null || v === undefined) { return "n/a"; }
    return Number(v).toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits});
  }
  function pct(v) { return v === null || v === undefined ? "n/a" : (v * 100).toFixed(1) + "%"; }
  function minutes(v) { return v === null || v === undefined ? "n/a" : v.toFixed(1) + " min"; }
  function colour(id) { return data.colours[id] || "#bdbdbd"; }
  function schoolLabel(id) {
    if (!id) { return "none"; }
    return esc(data.names[id] || id) + " (" + esc(id) + ")";
  }

  function init(d) {
    data = d;
    bounds = L.latLngBounds([[d.bounds[1], d.bounds[0]], [d.bounds[3], d.bounds[2]]]);
  }

  function register(map, key) {
    maps[key] = map;
    layers[key] = {};
    map.fitBounds(bounds, {padding: [12, 12]});
  }

  function unitTooltip(layer) {
    var p = layer.feature.properties;
    var h = ['<div class="zs-tip"><b>Unit ' + esc(p.g) + "</b><br>"];
    h.push("Students: " + num(p.n, 1) + " &middot; low-income share " + pct(p.l) + "<br>");
    h.push("Proposed school: " + schoolLabel(p.s) + "<br>");
    h.push("Travel time: " + minutes(p.t));
    if (p.ct !== undefined && p.ct !== null) { h.push(" (today " + minutes(p.ct) + ")"); }
    if (data.hasCurrent) {
      h.push("<br>Current school: " + schoolLabel(p.c) + "<br>");
      h.push(p.x ? '<span class="zs-changed">Changes school</span>' : "No change");
    }
    h.push("</div>");
    return h.join("");
  }

  /* Units filled with the colour of their proposed (or current) school. */
  function units(key, mode) {
    var layer = L.geoJSON(data.units, {
      style: function (f) {
        var s = mode === "current" ? f.properties.c : f.properties.s;
        return {fillColor: colour(s), fillOpacity: 0.62, color: "#ffffff", weight: 0.8, opacity: 0.9};
      },
      onEachFeature: function (f, l) { l.bindTooltip(unitTooltip, {sticky: true}); }
    });
    layers[key].units = layer;
    return layer;
  }

  /* Zone outlines (dissolved); `which` is "zones" or "currentZones". */
  function outlines(key, which, style) {
    var layer = L.geoJSON(data[which], {style: style, interactive: false});
    layers[key][which] = layer;
    return layer;
  }

  /* Units whose school changes: hatched (pattern `zs-hatch` defined in the page), outlined by a dark
   * dashed line over a white casing, readable on any fill. */
  function changed(key) {
    var only = function (f) { return f.properties.x === 1; };
    var layer = L.layerGroup([
      L.geoJSON(data.units, {filter: only, interactive: false,
        style: {fill: false, color: "#ffffff", weight: 4.5, opacity: 0.9}}),
      L.geoJSON(data.units, {filter: only, interactive: false,
        style: {fill: true, fillColor: "url(#zs-hatch)", fillOpacity: 1, color: "#111111", weight: 2.2,
          dashArray: "6 4"}})
    ]);
    layers[key].changed = layer;
    return layer;
  }

  function schools(key, mode) {
    var group = L.featureGroup();
    data.schools.forEach(function (s) {
      var m = L.circleMarker([s.lat, s.lon], {radius: 8, color: "#000000", weight: 2.5,
        fillColor: colour(s.id), fillOpacity: 1});
      m.bindPopup(mode === "current" ? s.popupCurrent : s.popup, {maxWidth: 340});
      m.bindTooltip(esc(s.name), {direction: "top", offset: [0, -8]});
      m.schoolId = s.id;
      group.addLayer(m);
    });
    layers[key].schools = group;
    return group;
  }

  function labels(key) {
    var group = L.layerGroup();
    data.schools.forEach(function (s) {
      group.addLayer(L.marker([s.lat, s.lon], {interactive: false, keyboard: false,
        icon: L.divIcon({className: "zs-label", html: "<span>" + esc(s.short) + "</span>", iconSize: [0, 0]})}));
    });
    layers[key].labels = group;
    return group;
  }

  /* A Leaflet control holding fixed HTML (built and escaped by the page generator). */
  function box(position, html, className) {
    var Box = L.Control.extend({
      onAdd: function () {
        var div = L.DomUtil.create("div", className);
        div.innerHTML = html;
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      }
    });
    return new Box({position: position});
  }

  /* Keep two maps on the same centre and zoom while both are visible. */
  function sync(a, b) {
    var busy = false;
    function follow(src, dst) {
      return function () {
        if (busy || !document.body.classList.contains("zs-side")) { return; }
        busy = true;
        dst.setView(src.getCenter(), src.getZoom(), {animate: false});
        busy = false;
      };
    }
    a.on("move zoomend", follow(a, b));
    b.on("move zoomend", follow(b, a));
  }

  /* "single": the proposed map alone; "side": current and proposed side by side. */
  function setView(mode) {
    var side = mode === "side" && maps.current !== undefined;
    document.body.classList.toggle("zs-side", side);
    var buttons = {single: "zs-view-single", side: "zs-view-side"};
    Object.keys(buttons).forEach(function (k) {
      var b = document.getElementById(buttons[k]);
      if (b) { b.classList.toggle("zs-active", (k === "side") === side); }
    });
    /* side by side, each map has half the room: fold the summary and the legend */
    document.querySelectorAll(".zs-summary details, .zs-legend details").forEach(function (d) {
      if (side) {
        d.dataset.wasOpen = String(d.open);
        d.open = false;
      } else if (d.dataset.wasOpen !== undefined) {
        d.open = d.dataset.wasOpen === "true";
      }
    });
    Object.keys(maps).forEach(function (k) {
      maps[k].invalidateSize({pan: false});
      maps[k].fitBounds(bounds, {padding: [12, 12], animate: false});
    });
  }

  return {init: init, register: register, units: units, outlines: outlines, changed: changed,
    schools: schools, labels: labels, box: box, sync: sync, setView: setView, maps: maps, layers: layers};
})();
