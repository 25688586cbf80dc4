/*
 * The script `report.html` runs in the browser to draw `ReportData` with uPlot: plain ES5 kept as text, which
 * TypeScript neither checks nor compiles. Apart from `report-html.ts` (the page around it) because it is a program of
 * its own, for another runtime.
 */

/** The page's own script: draws every chart, then marks each container `data-rendered` and the body with the count. */
export const PAGE_SCRIPT = String.raw`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var NAMES = Object.keys(data.destinations);
  var COLORS = { audit: '#1f77b4', search: '#2ca02c', fraud: '#d62728', committed: '#555' };
  // Plug-in destinations get the next colours of a fixed palette.
  var EXTRA_COLORS = ['#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];
  NAMES.filter(function (n) { return !COLORS[n]; }).forEach(function (n, i) { COLORS[n] = EXTRA_COLORS[i % EXTRA_COLORS.length]; });
  var STAGE_NAMES = [['streamRead', 'stream read'], ['kinesisPut', 'Kinesis put'], ['efoPush', 'EFO push'], ['batchWait', 'batch wait'], ['ledgerRead', 'ledger read'], ['destinationWrite', 'destination write']];
  var STAGE_COLORS = ['#9ecae1', '#6baed6', '#fdae6b', '#a1d99b', '#bcbddc', '#756bb1'];

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function table(head, rows) {
    var t = el('table');
    var tr = el('tr');
    head.forEach(function (h) { tr.appendChild(el('th', {}, h)); });
    t.appendChild(tr);
    rows.forEach(function (row) {
      var r = el('tr');
      row.forEach(function (cell) { r.appendChild(el('td', typeof cell === 'number' ? { class: 'n' } : {}, String(cell))); });
      t.appendChild(r);
    });
    return t;
  }
  function ms(v) { return v >= 1000 ? (v / 1000) + 's' : v + 'ms'; }
  function widthOf(id) { return Math.max(320, document.getElementById(id).clientWidth || 600); }

  // Phases as dashed grey lines, timed fault events as red ticks, on every time chart.
  function markers() {
    return { hooks: { draw: [function (u) {
      var ctx = u.ctx, top = u.bbox.top, bottom = u.bbox.top + u.bbox.height;
      ctx.save();
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 4]);
      ctx.strokeStyle = '#999';
      ctx.fillStyle = '#666';
      ctx.font = (10 * devicePixelRatio) + 'px sans-serif';
      data.phases.forEach(function (p) {
        var x = Math.round(u.valToPos(p.at, 'x', true));
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) return;
        ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
        ctx.fillText(p.label, x + 3, top + 10 * devicePixelRatio);
      });
      ctx.setLineDash([]);
      ctx.strokeStyle = 'rgba(214,39,40,0.8)';
      ctx.lineWidth = 2;
      data.faults.events.forEach(function (e) {
        var x = Math.round(u.valToPos(e.at, 'x', true));
        ctx.beginPath(); ctx.moveTo(x, bottom); ctx.lineTo(x, bottom - 8 * devicePixelRatio); ctx.stroke();
      });
      ctx.restore();
    }] } };
  }

  function chart(id, title, opts, series) {
    var box = document.getElementById(id);
    box.appendChild(el('div', { class: 'title' }, title));
    opts.width = widthOf(id);
    opts.height = opts.height || 220;
    // uPlot sizes its canvas and draws after a microtask: mark the container once it has drawn at its size.
    opts.hooks = opts.hooks || {};
    opts.hooks.draw = (opts.hooks.draw || []).concat([function (u) {
      var canvas = u.ctx.canvas;
      if (canvas.width > 0 && canvas.height > 0) {
        var points = 0;
        for (var i = 1; i < u.data.length; i++) u.data[i].forEach(function (v) { if (v != null) points++; });
        box.setAttribute('data-rendered', String(u.series.length - 1));
        box.setAttribute('data-points', String(points));
        box.setAttribute('data-canvas-size', canvas.width + 'x' + canvas.height);
      }
    }]);
    return new uPlot(opts, series, box);
  }
  var bars = uPlot.paths.bars({ size: [0.7, 60] });
  var timeAxis = { label: 's since ' + (data.timeOrigin || 'first commit') };

  // Verdict facts.
  var facts = document.getElementById('facts');
  data.facts.forEach(function (f) { facts.appendChild(el('li', {}, f)); });

  // Timeline: committed and delivered per second, timed faults per bucket.
  var eventsPerBucket = data.t.map(function () { return 0; });
  data.faults.events.forEach(function (e) {
    var i = Math.min(data.t.length - 1, Math.max(0, Math.floor(e.at / data.bucketSeconds)));
    eventsPerBucket[i] += 1;
  });
  eventsPerBucket = eventsPerBucket.map(function (n) { return n > 0 ? n : null; });
  var timelineSeries = [{}, { label: 'committed/s', stroke: COLORS.committed, width: 2 }];
  var timelineData = [data.t, data.committed];
  NAMES.forEach(function (n) { timelineSeries.push({ label: n + ' delivered/s', stroke: COLORS[n] }); timelineData.push(data.destinations[n].throughput); });
  timelineSeries.push({ label: 'timed faults', stroke: '#d62728', fill: 'rgba(214,39,40,0.35)', paths: bars, scale: 'faults', points: { show: false } });
  timelineData.push(eventsPerBucket);
  chart('chart-timeline', 'Throughput, and injected faults on the timeline (red: timed faults per bucket)', {
    height: 240,
    plugins: [markers()],
    scales: { x: { time: false }, faults: { range: function (u, min, max) { return [0, Math.max(1, max) * 4]; } } },
    axes: [timeAxis, { label: 'changes/s' }, { scale: 'faults', side: 1, grid: { show: false }, label: 'faults' }],
    series: timelineSeries,
  }, timelineData);

  // Injected faults: counted and described.
  var faultsBox = document.getElementById('faults');
  if (data.faults.described.length) {
    faultsBox.appendChild(el('div', { class: 'muted' }, 'Faults in force: ' + data.faults.described.join('; ')));
  }
  if (data.faults.counts.length) {
    faultsBox.appendChild(table(['where', 'injected fault / chaos', 'count'], data.faults.counts.map(function (c) { return [c.destination, c.kind, c.count]; })));
  }
  if (!data.faults.events.length) faultsBox.appendChild(el('div', { class: 'muted' }, 'No timed faults (crashes, on-failure batches) in this run.'));

  // Stage breakdown: one stacked bar per destination (each series is the running total up to its stage).
  var stageX = NAMES.map(function (_, i) { return i; });
  var cumulative = STAGE_NAMES.map(function () { return NAMES.map(function () { return null; }); });
  NAMES.forEach(function (n, i) {
    var s = data.destinations[n].stages, sum = 0;
    if (!s) return;
    STAGE_NAMES.forEach(function (stage, j) { sum += s[stage[0]]; cumulative[j][i] = sum; });
  });
  var stageSeries = [{}];
  var stageData = [stageX];
  for (var j = STAGE_NAMES.length - 1; j >= 0; j--) {
    (function (j) {
      stageSeries.push({
        label: STAGE_NAMES[j][1], stroke: STAGE_COLORS[j], fill: STAGE_COLORS[j], paths: bars, points: { show: false },
        value: function (u, v, si, idx) { if (idx == null || v == null) return '-'; var prev = j > 0 ? cumulative[j - 1][idx] : 0; return (v - (prev || 0)) + ' ms'; },
      });
      stageData.push(cumulative[j]);
    })(j);
  }
  chart('chart-stages', 'Median commit → delivery by stage (stacked), per destination', {
    height: 220,
    scales: { x: { time: false, range: [-0.5, NAMES.length - 0.5] }, y: { range: function (u, min, max) { return [0, Math.max(10, max * 1.1)]; } } },
    axes: [{ splits: function () { return stageX; }, values: function (u, splits) { return splits.map(function (v) { return NAMES[v] || ''; }); } }, { label: 'ms' }],
    series: stageSeries,
  }, stageData);

  NAMES.forEach(function (n) {
    var d = data.destinations[n];
    var l = d.latency, s = d.summary;
    document.getElementById('stats-' + n).textContent = d.statsText ||
      'commit → delivery' + (d.mode === 'latest-state' ? ' (freshness)' : '') + ': p50 ' + l.p50 + ' / p90 ' + l.p90 + ' / p95 ' + l.p95 + ' / p99 ' + l.p99 + ' / max ' + l.max +
      ' ms of ' + l.samples + ' changes; warm p50 ' + d.warm.p50 + ' / p99 ' + d.warm.p99 + ' ms; delivered ' + s.delivered + ', ' + s.recordsPerSecond + ' rec/s, missing ' + s.missing +
      ', order violations ' + s.orderViolations;

    chart('chart-' + n + '-latency', n + ': commit → delivery latency over time (by commit second), ms', {
      plugins: [markers()],
      scales: { x: { time: false } },
      axes: [timeAxis, { label: 'ms' }],
      series: [{}, { label: 'p50', stroke: COLORS[n], width: 2, spanGaps: true }, { label: 'p99', stroke: COLORS[n], dash: [6, 4], spanGaps: true }, { label: 'max', stroke: '#aaa', spanGaps: true }],
    }, [data.t, d.latencyOverTime.p50, d.latencyOverTime.p99, d.latencyOverTime.max]);

    // Bins up to the first one above the largest latency (at least 6), labelled by their upper edge.
    var edges = d.histogram.edges, counts = d.histogram.counts, last = 0;
    counts.forEach(function (c, i) { if (c > 0) last = i; });
    var shown = Math.min(edges.length, Math.max(6, last + 2));
    var hx = edges.slice(0, shown).map(function (_, i) { return i; });
    var binLabel = function (i) {
      if (i == null || edges[i] === undefined) return '';
      return edges[i] === -1 ? '>' + ms(edges[i - 1]) : '≤' + ms(edges[i]);
    };
    chart('chart-' + n + '-histogram', n + ': latency histogram (changes per bin)', {
      scales: { x: { time: false, range: [-0.5, hx.length - 0.5] } },
      axes: [{ splits: function () { return hx; }, values: function (u, splits) { return splits.map(binLabel); } }, { label: 'changes' }],
      series: [{ label: 'bin', value: function (u, i) { return binLabel(i); } },
        { label: 'changes', stroke: COLORS[n], fill: COLORS[n], paths: bars, points: { show: false } }],
    }, [hx, counts.slice(0, shown)]);

    chart('chart-' + n + '-flow', n + ': throughput (delivered/s) and lag (changes committed, not yet held)', {
      height: 200,
      plugins: [markers()],
      scales: { x: { time: false }, lag: {} },
      axes: [timeAxis, { label: 'delivered/s' }, { scale: 'lag', side: 1, grid: { show: false }, label: 'lag (changes)' }],
      series: [{}, { label: 'delivered/s', stroke: COLORS[n], width: 2 }, { label: 'lag', stroke: '#ff7f0e', fill: 'rgba(255,127,14,0.12)', scale: 'lag' }],
    }, [data.t, d.throughput, d.lag]);

    var tables = document.getElementById('tables-' + n);
    var dl = Object.keys(d.deadLetters.byReason).map(function (r) { return ['redriven: ' + r, d.deadLetters.byReason[r]]; });
    var inQueue = d.deadLetters.inQueueByReason || {};
    Object.keys(inQueue).forEach(function (r) { dl.push(['in the queue: ' + r, inQueue[r]]); });
    dl.push(['left in the dead-letter queue', d.deadLetters.leftInQueue]);
    tables.appendChild(table(['dead letters', 'count'], dl));
    var pk = Object.keys(d.parked.byReason).map(function (r) { return [r, d.parked.byReason[r]]; });
    pk.push(['accounts waiting', d.parked.waitingAccounts]);
    pk.push(['parked at the end (total)', d.parked.total]);
    tables.appendChild(table(['parked', 'count'], pk));
    var fm = d.functionMetrics;
    tables.appendChild(table(['function metrics (EMF)', 'total'], [['retries', fm.retries], ['quarantined', fm.quarantined], ['failed records', fm.failedRecords], ['duplicates skipped', fm.duplicatesSkipped], ['stale', fm.stale]]));
  });

  setTimeout(function () {
    document.body.setAttribute('data-charts-rendered', String(document.querySelectorAll('.chart[data-rendered]').length));
    document.body.setAttribute('data-errors', JSON.stringify(window.__reportErrors));
  }, 100);
})();
`;
