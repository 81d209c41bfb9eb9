// flopsight's diff page: draws the embedded figures; no network, no library.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("flopsight-data").textContent);
  var state = { sortCol: -1, sortDir: 1, filter: "" };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function fill(table, columns, rows) {
    var head = table.querySelector("thead"), body = table.querySelector("tbody");
    head.textContent = "";
    body.textContent = "";
    var tr = el("tr");
    columns.forEach(function (col, c) {
      var th = el("th", { "class": col.text ? "name" : "", "data-col": String(c) }, col.label);
      if (table.id === "modules" && c === state.sortCol) th.className += state.sortDir > 0 ? " sorted-asc" : " sorted-desc";
      tr.appendChild(th);
    });
    head.appendChild(tr);
    rows.forEach(function (row) {
      var line = el("tr", row.path === undefined ? {} : { "data-path": row.path });
      row.cells.forEach(function (cell, c) { line.appendChild(el("td", { "class": columns[c].text ? "name" : "" }, cell)); });
      body.appendChild(line);
    });
  }
  // A change column sorts by its size, so the largest rise and fall come together.
  function sortValue(row, c) {
    var value = row.raw[c], col = data.modules.columns[c];
    if (value === null) return null;
    return col.magnitude ? Math.abs(value) : value;
  }
  function shown() {
    var rows = data.modules.rows.filter(function (row) {
      return !state.filter || row.cells[0].toLowerCase().indexOf(state.filter) >= 0 ||
        row.cells[1].toLowerCase().indexOf(state.filter) >= 0;
    });
    if (state.sortCol < 0) return rows;
    var c = state.sortCol, dir = state.sortDir;
    return rows.map(function (row, i) { return [row, i]; }).sort(function (x, y) {
      var a = sortValue(x[0], c), b = sortValue(y[0], c);
      if (a === null || b === null) return a === b ? x[1] - y[1] : (a === null ? 1 : -1);
      if (typeof a === "string") return dir * a.localeCompare(b) || x[1] - y[1];
      return dir * (a - b) || x[1] - y[1];
    }).map(function (pair) { return pair[0]; });
  }
  function drawModules() {
    var rows = shown();
    fill(document.getElementById("modules"), data.modules.columns, rows);
    document.getElementById("row-count").textContent = rows.length + " of " + data.modules.rows.length + " modules";
  }

  document.getElementById("runs").textContent = "A = " + data.a + ", B = " + data.b + ". " + data.summary;
  fill(document.getElementById("totals"), data.totals.columns, data.totals.rows);
  drawModules();
  document.querySelector("#modules thead").addEventListener("click", function (event) {
    var col = event.target.getAttribute("data-col");
    if (col === null) return;
    var c = Number(col);
    // A number column sorts largest first on its first click.
    state.sortDir = c === state.sortCol ? -state.sortDir : (data.modules.columns[c].text ? 1 : -1);
    state.sortCol = c;
    drawModules();
  });
  document.getElementById("filter").addEventListener("input", function (event) {
    state.filter = event.target.value.trim().toLowerCase();
    drawModules();
  });
})();
