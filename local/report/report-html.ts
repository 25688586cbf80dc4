/**
 * `report.html`: one self-contained page (no network) that draws `ReportData` with uPlot, whose minified script and
 * stylesheet are read from node_modules and inlined when the page is written, with the page's own drawing script
 * (`report-page-script.ts`).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DESTINATION_NAMES } from '../../infra/config/pipeline-config';
import type { DestinationSeries, ReportData } from './report-page-data';
import { PAGE_SCRIPT } from './report-page-script';

const require = createRequire(import.meta.url);

/** uPlot's minified browser build and stylesheet, from node_modules. */
export function chartLibrary(): { script: string; style: string; version: string } {
  const root = dirname(require.resolve('uplot/package.json'));
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  return {
    script: readFileSync(join(root, 'dist/uPlot.iife.min.js'), 'utf8'),
    style: readFileSync(join(root, 'dist/uPlot.min.css'), 'utf8'),
    version,
  };
}

/** JSON that is safe inside a `<script>` element: no `<` (so no `</script>` or `<!--`), no line separators. */
export function inlineJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** Text inside a `<script>` element must not close it. */
function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** The ids of the chart containers the page draws into (the browser test checks each one). */
export function chartIds(names: readonly string[] = DESTINATION_NAMES): string[] {
  return ['chart-timeline', 'chart-stages', ...names.flatMap((name) => [`chart-${name}-latency`, `chart-${name}-histogram`, `chart-${name}-flow`])];
}

export function renderReportHtml(data: ReportData, library = chartLibrary()): string {
  const verdictClass = data.verdict.ok ? 'ok' : 'fail';
  // Every destination of the run, plug-ins included, in the run's order.
  const names = Object.keys(data.destinations);
  const sections = names
    .map((name) => {
      const series = data.destinations[name] as DestinationSeries;
      return `
<section class="destination" id="${name}">
  <h2>${name} <small>${escapeHtml(series.mode)}</small> <span class="badge ${series.ok ? 'ok' : 'fail'}">${series.ok ? 'OK' : 'FAIL'}</span></h2>
  <div class="stats" id="stats-${name}"></div>
  <div class="row">
    <div class="chart" id="chart-${name}-latency"></div>
    <div class="chart" id="chart-${name}-histogram"></div>
  </div>
  <div class="chart wide" id="chart-${name}-flow"></div>
  <div class="tables" id="tables-${name}"></div>
</section>`;
    })
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title ?? 'ordered-fanout run report')}: ${data.verdict.ok ? 'OK' : 'FAIL'}</title>
<style>${library.style}</style>
<style>
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1240px; padding: 12px 20px; color: #222; }
h1 { font-size: 20px; margin: 4px 0; } h2 { font-size: 17px; margin: 18px 0 6px; } h2 small { color: #666; font-weight: normal; }
.verdict { padding: 10px 14px; border-radius: 6px; font-size: 17px; font-weight: 600; }
.verdict.ok { background: #e3f5e6; border: 1px solid #5cb85c; } .verdict.fail { background: #fbe4e4; border: 1px solid #d9534f; }
.badge { font-size: 12px; padding: 1px 6px; border-radius: 4px; color: #fff; } .badge.ok { background: #3c9d3c; } .badge.fail { background: #c9302c; }
.facts { color: #444; margin: 6px 0; padding-left: 18px; }
.row { display: flex; gap: 12px; flex-wrap: wrap; } .row .chart { flex: 1 1 480px; min-width: 0; }
.chart { min-height: 60px; margin: 4px 0; } .chart .title { font-weight: 600; font-size: 13px; margin-bottom: 2px; }
.stats { font-variant-numeric: tabular-nums; color: #333; }
.tables { display: flex; gap: 24px; flex-wrap: wrap; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0; } td, th { border-bottom: 1px solid #ddd; padding: 2px 8px; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: #777; } footer { color: #777; font-size: 12px; margin: 16px 0; }
</style>
</head>
<body data-charts-expected="${chartIds(names).length}">
<h1>${escapeHtml(data.title ?? 'ordered-fanout: local pipeline run')}</h1>
<div class="verdict ${verdictClass}" id="verdict">${escapeHtml(data.verdict.headline)}</div>
<ul class="facts" id="facts"></ul>
<h2>Timeline</h2>
<div class="chart wide" id="chart-timeline"></div>
<div id="faults"></div>
<h2>Commit → delivery, stage by stage <small>(median ms of the warm changes)</small></h2>
<div class="chart wide" id="chart-stages"></div>
${sections}
<footer>Generated ${escapeHtml(data.generatedAt)} by <code>${escapeHtml(data.command)}</code>; charts: uPlot ${escapeHtml(library.version)} (MIT), inlined. Times are seconds from ${escapeHtml(data.timeOrigin ?? "the run's first commit")}; buckets of ${data.bucketSeconds} s.</footer>
<script>
window.__reportErrors = [];
window.addEventListener('error', function (e) { window.__reportErrors.push(String(e.message || e)); document.body.setAttribute('data-errors', JSON.stringify(window.__reportErrors)); });
</script>
<script>${inlineScript(library.script)}</script>
<script id="report-data" type="application/json">${inlineJson(data)}</script>
<script>${inlineScript(PAGE_SCRIPT)}</script>
</body>
</html>
`;
}
