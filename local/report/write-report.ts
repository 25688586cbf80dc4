import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineReport } from '../pipeline/run-pipeline';
import { buildReportData, type ReportInput } from './report-data';
import { renderReportHtml } from './report-html';

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
