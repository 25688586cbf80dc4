import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineReport } from '../pipeline/run-pipeline';
import { buildReportData } from './report-data';
import type { ReportInput } from './report-input';
import type { ReportData } from './report-page-data';
import { chartLibrary, renderReportHtml } from './report-html';

/** Where `npm start` writes `report.json` and `report.html`. */
export const REPORT_DIR = '.ordered-fanout';

/** Writes the run's JSON report and its HTML page into `dir`; returns both paths. */
export function writeRunReport(dir: string, input: ReportInput & { readonly report: PipelineReport }): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'report.json');
  const html = join(dir, 'report.html');
  writeFileSync(json, `${JSON.stringify(input.report, null, 2)}\n`);
  writeFileSync(html, renderReportHtml(buildReportData(input)));
  return { json, html };
}

/**
 * Writes a page whose data was built elsewhere (`fanout status --watch` builds it from status snapshots), and `json`
 * beside it. Each file is written whole and renamed into place: the page is rewritten while a browser may read it.
 */
export function writeReportPage(dir: string, data: ReportData, json: unknown, library = chartLibrary()): { json: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const paths = { json: join(dir, 'report.json'), html: join(dir, 'report.html') };
  for (const [path, text] of [[paths.json, `${JSON.stringify(json, null, 2)}\n`], [paths.html, renderReportHtml(data, library)]] as const) {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
  return paths;
}
