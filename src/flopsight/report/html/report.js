// flopsight's HTML report: draws the embedded figures; no network, no library.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("flopsight-data").textContent);
  var rows = data.rows;
  var SVG = "http://www.w3.org/2000/svg";
  var W = 960, H = 480;
  var kids = rows.map(function () { return []; });
  rows.forEach(function (r, i) { if (r.parent >= 0) kids[r.parent].push(i); });
  var state = { zoom: 0, measure: 0, sortCol: -1, sortDir: 1 };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function leafName(path) { return path === "" ? "(model)" : path.split(".").pop(); }
  function counted(i) { return rows[i].alias_of === undefined; }
  // Treemap index -> the measure's position in a row's cells (its shown value).
  function cellOf(measure) {
    var label = data.treemap[measure].label, at = 0;
    for (var c = 2; c < data.columns.length; c++) {
      if (data.columns[c].label === label && data.columns[c].of === undefined) return at;
      at++;
    }
    return -1;
  }
  function figures(i) {
    var r = rows[i], lines = [(r.path || "(model)") + "  " + r.type];
    if (!counted(i)) return lines.concat(["same module as " + r.alias_of + " (counted there)"]).join("\n");
    var parts = [];
    for (var c = 2; c < data.columns.length; c++) {
      var col = data.columns[c], cell = r.cells[c - 2];
      if (col.of === undefined) parts.push(col.label + " " + cell);
      else parts[parts.length - 1] += " (" + cell + ")";
    }
    return lines.concat([parts.join(", ")]).join("\n");
  }

  // Squarified treemap (Bruls, Huizing, van Wijk): rows of tiles kept close to square.
  function squarify(items, x, y, w, h) {
    var total = items.reduce(function (s, it) { return s + it.value; }, 0), out = [];
    if (total <= 0 || w <= 0 || h <= 0) return out;
    var scale = (w * h) / total, queue = items.map(function (it) { return { item: it, area: it.value * scale }; });
    var row = [];
    function worst(list, side) {
      var s = 0, max = 0, min = Infinity;
      list.forEach(function (n) { s += n.area; max = Math.max(max, n.area); min = Math.min(min, n.area); });
      return Math.max((side * side * max) / (s * s), (s * s) / (side * side * min));
    }
    function place(list) {
      var s = list.reduce(function (a, n) { return a + n.area; }, 0);
      if (w >= h) {
        var cw = s / h, cy = y;
        list.forEach(function (n) { var th = n.area / cw; out.push({ item: n.item, x: x, y: cy, w: cw, h: th }); cy += th; });
        x += cw; w -= cw;
      } else {
        var rh = s / w, cx = x;
        list.forEach(function (n) { var tw = n.area / rh; out.push({ item: n.item, x: cx, y: y, w: tw, h: rh }); cx += tw; });
        y += rh; h -= rh;
      }
    }
    while (queue.length) {
      var side = Math.min(w, h), next = queue[0];
      if (row.length === 0 || worst(row.concat([next]), side) <= worst(row, side)) { row.push(next); queue.shift(); }
      else { place(row); row = []; }
    }
    if (row.length) place(row);
    return out;
  }

  function hue(text) {
    var h = 0;
    for (var k = 0; k < text.length; k++) h = (h * 31 + text.charCodeAt(k)) % 360;
    return h;
  }

  function drawMap() {
    var map = document.getElementById("treemap"), m = state.measure, key = data.treemap[m].key;
    W = Math.max(map.clientWidth, 200);  // one SVG unit per pixel, so labels keep their shape
    map.setAttribute("viewBox", "0 0 " + W + " " + H);
    map.setAttribute("data-measure", key);
    map.setAttribute("data-zoom", rows[state.zoom].path);
    while (map.firstChild) map.removeChild(map.firstChild);
    var items = kids[state.zoom].filter(counted).map(function (i) { return { row: i, value: rows[i].sizes[m][0], self: false }; });
    var own = rows[state.zoom].sizes[m][1];
    // The zoomed module's own ops; with no children it is the whole tile.
    if (own > 0 || items.length === 0) items.push({ row: state.zoom, value: own || rows[state.zoom].sizes[m][0], self: true });
    items = items.filter(function (it) { return it.value > 0; }).sort(function (a, b) { return b.value - a.value; });
    var cell = cellOf(m);
    squarify(items, 0, 0, W, H).forEach(function (t) {
      var r = rows[t.item.row], zoomable = !t.item.self && kids[t.item.row].some(counted);
      var g = svg("g", { "class": "tile" + (t.item.self ? " self" : ""), "data-path": r.path, "data-value": String(t.item.value) });
      var fill = "hsl(" + hue(r.type) + ",55%,62%)";
      g.appendChild(svg("rect", { x: t.x.toFixed(2), y: t.y.toFixed(2), width: t.w.toFixed(2), height: t.h.toFixed(2), fill: fill }));
      var label = (t.item.self ? "(self) " : "") + leafName(r.path) + (t.item.self ? "" : " " + r.type);
      var title = svg("title", {});
      title.textContent = t.item.self ? label + ": ops it runs itself" : figures(t.item.row);
      g.appendChild(title);
      if (t.w > 40 && t.h > 16) {
        var chars = Math.floor(t.w / 7);
        var text = svg("text", { x: (t.x + 4).toFixed(2), y: (t.y + 14).toFixed(2) });
        text.textContent = label.length > chars ? label.slice(0, Math.max(chars - 1, 1)) + "\u2026" : label;
        g.appendChild(text);
        if (t.h > 32 && !t.item.self) {
          var value = svg("text", { x: (t.x + 4).toFixed(2), y: (t.y + 28).toFixed(2) });
          value.textContent = r.cells[cell];
          g.appendChild(value);
        }
      }
      g.addEventListener("mouseenter", function () {
        document.getElementById("tile-info").textContent = t.item.self ? label + ": the ops " + (r.path || "the model") + " runs itself" : figures(t.item.row);
      });
      if (zoomable) g.addEventListener("click", function () { zoomTo(t.item.row); });
      map.appendChild(g);
    });
    drawBreadcrumb();
  }

  function drawBreadcrumb() {
    var nav = document.getElementById("breadcrumb"), chain = [];
    for (var i = state.zoom; i >= 0; i = rows[i].parent) chain.unshift(i);
    while (nav.firstChild) nav.removeChild(nav.firstChild);
    chain.forEach(function (i, at) {
      if (at) nav.appendChild(el("span", { "class": "sep" }, "\u203A"));
      var b = el("button", { type: "button", "data-path": rows[i].path }, i === 0 ? rows[0].type : leafName(rows[i].path));
      b.addEventListener("click", function () { zoomTo(i); });
      nav.appendChild(b);
    });
  }

  function zoomTo(i) { state.zoom = i; drawMap(); }

  // A table row's module in the treemap: a shared module's second path shows its first.
  function showInMap(i) {
    if (!counted(i)) i = rows.map(function (r) { return r.path; }).indexOf(rows[i].alias_of);
    if (i < 0) return;
    zoomTo(i);
    document.getElementById("map-section").scrollIntoView({ block: "start" });
  }

  function drawPart(part) {
    if (part.kind === "chart") return drawChart(part);
    // Text only where no structure is at hand: lines keep their layout in a <pre>.
    if (part.kind === "text") return el(part.text.indexOf("\n") >= 0 ? "pre" : "p", { "class": "note" }, part.text);
    var box = el("div", { "class": "part" });
    if (part.caption) box.appendChild(el("h3", {}, part.caption));
    var table = el("table", { "class": part.kind });
    if (part.kind === "table") {
      var head = el("tr");
      part.header.forEach(function (h, c) { head.appendChild(el("th", { "class": c < part.left ? "name" : "" }, h)); });
      table.appendChild(el("thead")).appendChild(head);
    }
    var body = table.appendChild(el("tbody"));
    part.rows.forEach(function (row) {
      var tr = el("tr");
      if (part.kind === "table" && row.length === 1 && part.header.length > 1) {
        tr.appendChild(el("td", { colspan: String(part.header.length), "class": "name" }, row[0]));  // a note row
      } else {
        row.forEach(function (cell, c) {
          var name = part.kind === "facts" || c < part.left;
          var td = el("td", { "class": name ? "name" : "" }, String(cell));
          if (part.kind === "facts" && c === 0) td.className = "label" + (/^ /.test(cell) ? " sub" : "");
          tr.appendChild(td);
        });
      }
      body.appendChild(tr);
    });
    box.appendChild(table);
    return box;
  }

  // Live bytes over the run's op ticks: an area, the phases shaded, the peak marked.
  function drawChart(c) {
    var CW = 960, CH = 260, L = 78, R = 16, T = 24, B = 34, pw = CW - L - R, ph = CH - T - B;
    var top = c.y_ticks[c.y_ticks.length - 1][0] || 1, last = Math.max(c.ops - 1, 1);
    function x(t) { return L + (t / last) * pw; }
    function y(b) { return T + (1 - b / top) * ph; }
    var chart = svg("svg", { id: "memory-chart", viewBox: "0 0 " + CW + " " + CH, role: "img",
      "aria-label": "bytes live over the run's ops" });
    c.phases.forEach(function (p) {
      var x0 = x(p[0]), x1 = x(Math.min(p[1], last));
      chart.appendChild(svg("rect", { "class": "phase " + p[2], x: x0.toFixed(1), y: T, width: Math.max(x1 - x0, 0.5).toFixed(1), height: ph }));
      if (x1 - x0 > 60) {
        var name = svg("text", { "class": "phase-name", x: (x0 + 4).toFixed(1), y: T + 14 });
        name.textContent = p[2];
        chart.appendChild(name);
      }
    });
    c.y_ticks.forEach(function (tick) {
      chart.appendChild(svg("line", { "class": "grid", x1: L, x2: L + pw, y1: y(tick[0]).toFixed(1), y2: y(tick[0]).toFixed(1) }));
      var label = svg("text", { "class": "axis", x: L - 6, y: (y(tick[0]) + 4).toFixed(1), "text-anchor": "end" });
      label.textContent = tick[1];
      chart.appendChild(label);
    });
    var line = c.ticks.map(function (t, i) { return (i ? "L" : "M") + x(t).toFixed(1) + " " + y(c.bytes[i]).toFixed(1); }).join(" ");
    chart.appendChild(svg("path", { "class": "area", d: line + " L" + x(c.ticks[c.ticks.length - 1]).toFixed(1) + " " + y(0) + " L" + x(c.ticks[0]).toFixed(1) + " " + y(0) + " Z" }));
    chart.appendChild(svg("path", { "class": "live", d: line }));
    [[0, "op 0"], [last, "op " + last]].forEach(function (tick, at) {
      var label = svg("text", { "class": "axis", x: x(tick[0]).toFixed(1), y: CH - B + 16, "text-anchor": at ? "end" : "start" });
      label.textContent = tick[1];
      chart.appendChild(label);
    });
    var axis = svg("text", { "class": "axis", x: L + pw / 2, y: CH - 6, "text-anchor": "middle" });
    axis.textContent = "ops of the run, in order (" + c.ops + ")";
    chart.appendChild(axis);
    var px = x(c.peak.tick), py = y(c.peak.bytes);
    chart.appendChild(svg("circle", { "class": "peak", cx: px.toFixed(1), cy: py.toFixed(1), r: 4 }));
    var peak = svg("text", { id: "memory-peak", "class": "peak-label", x: px.toFixed(1), y: Math.max(py - 8, 12).toFixed(1),
      "text-anchor": px > L + pw * 0.6 ? "end" : "start" });
    peak.textContent = c.peak.label;
    chart.appendChild(peak);
    var title = svg("title", {});
    title.textContent = "bytes live at each op; " + c.peak.label;
    chart.appendChild(title);
    return chart;
  }

  function drawTableHead() {
    var tr = el("tr");
    data.columns.forEach(function (col, c) {
      var th = el("th", { "data-col": String(c), "class": c === 0 ? "name" : c === 1 ? "type" : "" },
        col.of === undefined ? col.label : "%");
      if (col.of !== undefined) th.title = "% of the model's " + col.of;
      th.addEventListener("click", function () {
        state.sortDir = state.sortCol === c ? -state.sortDir : (c < 2 ? 1 : -1);
        state.sortCol = c;
        drawTable();
      });
      tr.appendChild(th);
    });
    document.querySelector("#modules thead").appendChild(tr);
  }

  function sortKey(i, c) {
    var r = rows[i];
    if (c === 0) return r.path;
    if (c === 1) return r.type;
    return r.raw ? r.raw[c - 2] : null;
  }

  function drawTable() {
    var filter = document.getElementById("filter").value.trim().toLowerCase();
    var depth = document.getElementById("depth").value;
    var shown = rows.map(function (r, i) { return i; }).filter(function (i) {
      var r = rows[i];
      if (depth !== "all" && r.depth > Number(depth)) return false;
      return !filter || r.path.toLowerCase().indexOf(filter) >= 0 || r.type.toLowerCase().indexOf(filter) >= 0;
    });
    if (state.sortCol >= 0) {
      var c = state.sortCol, dir = state.sortDir;
      shown.sort(function (a, b) {
        var x = sortKey(a, c), y = sortKey(b, c);
        if (x === y) return a - b;
        if (x === null || x === undefined) return 1;  // missing figures last, either way
        if (y === null || y === undefined) return -1;
        return (x < y ? -1 : 1) * dir;
      });
    }
    document.querySelectorAll("#modules th").forEach(function (th, c) {
      th.classList.toggle("sorted-asc", c === state.sortCol && state.sortDir > 0);
      th.classList.toggle("sorted-desc", c === state.sortCol && state.sortDir < 0);
    });
    var body = document.querySelector("#modules tbody"), frag = document.createDocumentFragment();
    shown.forEach(function (i) {
      var r = rows[i], tr = el("tr", { "data-path": r.path, title: "click to show it in the treemap" });
      tr.addEventListener("click", function () { showInMap(i); });
      var name = el("td", { "class": "name" }, r.path === "" ? "(model)" : r.path);
      name.style.paddingLeft = (0.6 + r.depth) + "em";  // CSSOM, which the page's CSP allows
      tr.appendChild(name);
      tr.appendChild(el("td", { "class": "type" }, r.type + (r.ignored ? " (ignored)" : "")));
      if (!counted(i)) {
        tr.className = "alias";
        tr.appendChild(el("td", { colspan: String(data.columns.length - 2), "class": "type" }, "same module as " + r.alias_of + " (counted there)"));
      } else {
        r.cells.forEach(function (cell) { tr.appendChild(el("td", {}, cell)); });
      }
      frag.appendChild(tr);
    });
    while (body.firstChild) body.removeChild(body.firstChild);
    body.appendChild(frag);
    document.getElementById("row-count").textContent = shown.length + " of " + rows.length + " modules";
  }

  function fillTable(id, header, list) {
    var table = document.getElementById(id), tr = el("tr");
    header.forEach(function (h) { tr.appendChild(el("th", {}, h)); });
    table.appendChild(tr);
    if (!list.length) { table.appendChild(el("tr")).appendChild(el("td", { colspan: String(header.length) }, "none")); }
    list.forEach(function (row) {
      var line = el("tr");
      row.forEach(function (cell) { line.appendChild(el("td", {}, String(cell))); });
      table.appendChild(line);
    });
  }

  function setup() {
    var measure = document.getElementById("measure");
    data.treemap.forEach(function (t, i) { measure.appendChild(el("option", { value: String(i) }, t.label)); });
    state.measure = Math.max(0, data.treemap.map(function (t) { return t.key; }).indexOf("flops"));
    measure.value = String(state.measure);
    measure.addEventListener("change", function () { state.measure = Number(measure.value); drawMap(); });
    var depth = document.getElementById("depth"), deepest = 0;
    rows.forEach(function (r) { deepest = Math.max(deepest, r.depth); });
    depth.appendChild(el("option", { value: "all" }, "all"));
    for (var d = 0; d <= deepest; d++) depth.appendChild(el("option", { value: String(d) }, String(d)));
    depth.addEventListener("change", drawTable);
    document.getElementById("filter").addEventListener("input", drawTable);
    drawTableHead();
    fillTable("facts", ["", ""], data.facts);
    document.querySelector("#facts tr").remove();  // label/value rows need no header
    fillTable("uncounted", ["op", "calls"], data.uncounted);
    var holder = document.getElementById("sections");
    data.sections.forEach(function (s) {
      var section = el("section");
      section.appendChild(el("h2", {}, s.title));
      s.parts.forEach(function (part) { section.appendChild(drawPart(part)); });
      holder.appendChild(section);
    });
    drawMap();
    drawTable();
  }

  setup();
})();
