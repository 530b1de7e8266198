// plotly.js with the trace types the portal's figures use (charts/), and nothing else.
// tests/charts/test_plotly_bundle.py fails when a figure uses a type missing here.
// scatter is part of plotly.js's core: every bundle has it.
var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/box'),
    require('plotly.js/lib/heatmap'),
    require('plotly.js/lib/histogram'),
    require('plotly.js/lib/waterfall'),
]);

module.exports = Plotly;
