/* Protection Directory maps: markers, marks, paths and legends drawn from data embedded in the page.
 *
 * Text that comes from records is only ever set with textContent, never parsed as HTML, so a
 * name such as "<img onerror=...>" shows as written. Nothing here fetches anything.
 */
(function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  /* How the page's language separates a label from its value and the items of a list (pdControls):
     "Pays : ..." in French, "،" in Arabic. */
  var said = {colon: ": ", comma: ", "};

  function line(parent, label, value) {
    if (value === undefined || value === null || value === "" || (value.join && value.length === 0)) { return; }
    var row = el("div", "pd-row");
    row.appendChild(el("span", "pd-label", label + said.colon));
    row.appendChild(el("span", "pd-value", value.join ? value.join(said.comma) : value));
    parent.appendChild(row);
  }

  function names(table, indexes) {
    return (indexes || []).map(function (i) { return table[i]; });
  }

  /* Organisations as clustered markers. data.rows: [name, kind, lat, lon, precision, place, services,
     languages, channels, intake, id], all but name, lat, lon, channels, intake and id as indexes into data's
     tables. With data.link, a popup's name links to data.link + id (the organisation's page). A popup's
     lines are labelled in the page's language (data.labels). */
  window.pdMarkers = function (map, data) {
    var words = data.labels || {place: "Place", services: "Services", languages: "Languages", contact: "Contact",
      ask: "How to ask"};
    var group = L.markerClusterGroup({chunkedLoading: true, showCoverageOnHover: false, maxClusterRadius: 45});
    var icons = data.kinds.map(function (_, i) {
      return L.divIcon({className: "pd-marker pd-kind-" + data.kindClass[i], iconSize: [14, 14]});
    });
    var markers = new Array(data.rows.length);
    data.rows.forEach(function (r, n) {
      // reached with Tab and opened with Enter, named by the organisation (a walk with a keyboard
      // and a screen reader reached none of them)
      var marker = L.marker([r[2], r[3]], {icon: icons[r[1]], title: r[0], keyboard: true});
      marker.on("add", function () {
        var node = marker.getElement();
        if (node) { node.setAttribute("aria-label", r[0]); }
      });
      marker.bindPopup(function () {
        var box = el("div", "pd-popup");
        if (data.link && r[10]) {
          var title = el("div", "pd-title");
          var a = el("a", null, r[0]);
          a.href = data.link + encodeURIComponent(r[10]);
          title.appendChild(a);
          box.appendChild(title);
        } else {
          box.appendChild(el("div", "pd-title", r[0]));
        }
        box.appendChild(el("div", "pd-kind", data.kinds[r[1]]));
        line(box, words.place, data.places[r[5]]);
        line(box, words.services, names(data.services, r[6]));
        line(box, words.languages, names(data.languages, r[7]));
        line(box, words.contact, r[8]);
        line(box, words.ask, r[9]);
        box.appendChild(el("div", "pd-note", data.precisions[r[4]]));
        return box;
      }, {maxWidth: 320});
      markers[n] = marker;
    });
    group.addLayers(markers);
    map.addLayer(group);
    return group;
  };

  /* Places marked with a short text (a flag such as "0" or "1"), each with a tooltip of lines.
     Many marks wait until the map is zoomed in, or a world map drowns in them. */
  window.pdMarks = function (map, marks) {
    var layer = L.featureGroup();
    var fromZoom = marks.length > 60 ? 4 : 0;
    marks.forEach(function (m) {
      var icon = L.divIcon({className: "pd-mark pd-mark-" + m.style, html: "", iconSize: [20, 20]});
      var marker = L.marker([m.lat, m.lon], {icon: icon, keyboard: false});
      marker.on("add", function () {
        var node = marker.getElement();
        if (node) { node.textContent = m.text; }
      });
      marker.bindTooltip(function () {
        var box = el("div", "pd-tip");
        m.lines.forEach(function (t, i) { box.appendChild(el("div", i === 0 ? "pd-title" : "pd-row", t)); });
        return box;
      });
      layer.addLayer(marker);
    });
    function toggle() {
      if (map.getZoom() >= fromZoom) { layer.addTo(map); } else { layer.remove(); }
    }
    map.on("zoomend", toggle);
    toggle();
    return layer;
  };

  /* Proportional circles (funding), with a tooltip of lines. */
  window.pdCircles = function (map, circles) {
    var layer = L.featureGroup();
    circles.forEach(function (c) {
      var circle = L.circleMarker([c.lat, c.lon], {radius: c.radius, color: "#1b4f72", weight: 1,
        fillColor: "#2e86c1", fillOpacity: 0.55, className: "pd-circle"});
      circle.bindTooltip(function () {
        var box = el("div", "pd-tip");
        c.lines.forEach(function (t, i) { box.appendChild(el("div", i === 0 ? "pd-title" : "pd-row", t)); });
        return box;
      });
      layer.addLayer(circle);
    });
    layer.addTo(map);
    return layer;
  };

  /* Referral paths: one coloured line per path through the organisations' shown points, and a
     panel listing each hop with its reasons. */
  window.pdPaths = function (map, data) {
    var layer = L.featureGroup();
    data.paths.forEach(function (path) {
      var points = path.stops.filter(function (s) { return s.lat !== null; }).map(function (s) { return [s.lat, s.lon]; });
      if (points.length > 1) {
        var lineLayer = L.polyline(points, {color: path.colour, weight: 6 - Math.min(path.rank, 4),
          opacity: 0.85, dashArray: path.rank > 1 ? "8 6" : null, className: "pd-path"});
        lineLayer.bindTooltip(function () { return el("div", "pd-title", path.label); }, {sticky: true});
        layer.addLayer(lineLayer);
      }
      path.stops.forEach(function (s, i) {
        if (s.lat === null) { return; }
        var marker = L.circleMarker([s.lat, s.lon], {radius: i === 0 || i === path.stops.length - 1 ? 8 : 6,
          color: path.colour, weight: 2, fillColor: "#ffffff", fillOpacity: 1});
        marker.bindTooltip(function () {
          var box = el("div", "pd-tip");
          box.appendChild(el("div", "pd-title", s.name));
          box.appendChild(el("div", "pd-row", s.role));
          box.appendChild(el("div", "pd-note", s.precision));
          return box;
        });
        layer.addLayer(marker);
      });
    });
    layer.addTo(map);
    if (layer.getLayers().length) {
      map.fitBounds(layer.getBounds().pad(0.2), {animate: false, paddingTopRight: beside(map, [380, 10]), maxZoom: 8});
    }

    var panel = L.control({position: "topright"});
    panel.onAdd = function () {
      var box = el("div", "pd-panel");
      box.appendChild(el("div", "pd-heading", data.title));
      if (!data.paths.length) { box.appendChild(el("div", "pd-note", data.empty)); }
      data.paths.forEach(function (path) {
        var item = el("div", "pd-path-item");
        var head = el("div", "pd-title", path.label + said.colon + path.summary);
        head.style.borderInlineStart = "6px solid " + path.colour;
        item.appendChild(head);
        var list = el("ol", "pd-steps");
        path.steps.forEach(function (step) {
          var li = el("li", null, step.text);
          step.reasons.forEach(function (reason) { li.appendChild(el("div", "pd-reason", reason)); });
          list.appendChild(li);
        });
        item.appendChild(list);
        box.appendChild(item);
      });
      L.DomEvent.disableScrollPropagation(box);
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    panel.addTo(map);
    return layer;
  };

  /* The basemap: country outlines from countries.js, under every other layer, not interactive. */
  window.pdBasemap = function (map, style) {
    var layer = L.geoJSON(window.pdCountries, {style: style, interactive: false});
    layer.addTo(map);
    layer.bringToBack();
    return layer;
  };

  /* The zoom buttons, titled in the page's language, and a scale in kilometres; the language's
     punctuation for what the map writes. */
  window.pdControls = function (map, words) {
    said = {colon: words.colon || ": ", comma: words.comma || ", "};
    L.control.zoom({position: "topleft", zoomInTitle: words.zoomIn, zoomOutTitle: words.zoomOut}).addTo(map);
    L.control.scale({imperial: false}).addTo(map);
  };

  /* The data's attribution, as text. */
  window.pdAttribution = function (map, data) {
    var holder = el("span", null, data.text);
    map.attributionControl.addAttribution(holder.innerHTML);
  };

  /* Tooltips for a GeoJSON layer's features, keyed by the feature's code: lines of text. */
  window.pdFeatureTips = function (layer, tips) {
    layer.eachLayer(function (feature) {
      var lines = tips[feature.feature.properties.code];
      if (!lines) { return; }
      feature.bindTooltip(function () {
        var box = el("div", "pd-tip");
        lines.forEach(function (t, i) { box.appendChild(el("div", i === 0 ? "pd-title" : "pd-row", t)); });
        return box;
      }, {sticky: true});
      // a shape reached with Tab says what its tooltip says, and shows it (it was read as "path")
      var node = feature.getElement && feature.getElement();
      if (node) {
        node.setAttribute("tabindex", "0");
        node.setAttribute("role", "img");
        node.setAttribute("aria-label", lines.join(". "));
        node.addEventListener("focus", function () { feature.openTooltip(feature.getBounds().getCenter()); });
        node.addEventListener("blur", function () { feature.closeTooltip(); });
      }
    });
  };

  /* Room kept for a legend or panel beside what is fitted, on a screen wide enough to have it beside;
     on a phone the legend lies over the map, and keeping 300 pixels of 375 left the place a sliver. */
  function beside(map, room) { return map.getSize().x >= 700 ? room : [0, 0]; }

  /* Fit the view to a box: [[south, west], [north, east]]. */
  window.pdFit = function (map, box) {
    map.fitBounds(box, {maxZoom: 7, animate: false, paddingBottomRight: beside(map, [300, 0])});
  };

  /* A legend: a title, coloured swatches with labels, and notes. */
  /* A link back to the maps' index, top left: served maps only. */
  window.pdBack = function (map, back) {
    var control = L.control({position: "topleft"});
    control.onAdd = function () {
      var a = el("a", "pd-back", back.text);
      a.href = back.href;
      return a;
    };
    control.addTo(map);
    return control;
  };

  window.pdLegend = function (map, legend) {
    var control = L.control({position: "bottomright"});
    control.onAdd = function () {
      var box = el("div", "pd-legend");
      box.appendChild(el("div", "pd-heading", legend.title));
      legend.items.forEach(function (item) {
        var row = el("div", "pd-legend-row");
        var swatch = el("span", "pd-swatch" + (item.shape ? " pd-swatch-" + item.shape : ""), item.text || "");
        swatch.style.background = item.colour;
        row.appendChild(swatch);
        row.appendChild(el("span", null, item.label));
        box.appendChild(row);
      });
      legend.notes.forEach(function (note) { box.appendChild(el("div", "pd-note", note)); });
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    control.addTo(map);
    return control;
  };
}());
