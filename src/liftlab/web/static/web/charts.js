// Draws every figure of the page: a [data-figure] element names the JSON script holding it.
"use strict";
(function () {
  for (const element of document.querySelectorAll("[data-figure]")) {
    const source = document.getElementById(element.dataset.figure);
    if (!source || typeof Plotly === "undefined") continue;
    const figure = JSON.parse(source.textContent);
    Plotly.newPlot(element, figure.data, figure.layout, {
      displayModeBar: false,
      responsive: true,
    });
  }
})();
