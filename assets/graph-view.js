"use strict";
// Starts the explorer of a `lrt graph view` file on the data embedded beside it.
LrtGraph.mount(
  document.getElementById("graph"),
  JSON.parse(document.getElementById("lrt-graph-data").textContent),
);
