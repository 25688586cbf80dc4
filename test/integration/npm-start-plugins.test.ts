import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ledgerQueue } from '../../destinations/ledger-queue';
import { runPipeline, type PipelineRun } from '../../local/pipeline/run-pipeline';
import { buildReportData } from '../../local/report/report-data';
import { chartIds, renderReportHtml } from '../../local/report/report-html';
import { SMALL_RUN } from '../support/small-runs';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

/** Debian's `chromium` where installed (as `report-html.test.ts` finds it); the page check is skipped elsewhere. */
function chromium(): string | undefined {
  try {
    return execFileSync('/bin/sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

describe('npm start with a plug-in destination: ledger-queue (SQS FIFO on fauxqs)', () => {
  const runs: PipelineRun[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'npm-start-plugins-'));
  afterAll(async () => {
    for (const pipeline of runs) await pipeline.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every version of every account in order, as read back from the FIFO queue, with chaos on', async () => {
    const pipeline = await runPipeline({
      ...SMALL_RUN,
      seed: 12,
      plugins: [ledgerQueue],
      dynamodbEndpoint: inject('dynamodbEndpoint'),
    });
    runs.push(pipeline);
    const { report, accepted } = pipeline;
    expect(report.ok).toBe(true);
    expect(Object.keys(report.destinations)).toEqual(['audit', 'search', 'fraud', 'ledger-queue']);
    expect(report.details.destinations['ledger-queue']).toMatchObject({ ok: true, mode: 'in-order' });
    expect(report.destinations['ledger-queue']).toMatchObject({ missing: 0, orderViolations: 0, parked: 0, deadLettered: 0 });

    // Checked here from the queue itself: each account's versions in the order the receiver got them.
    const finals = new Map<string, number>();
    for (const { accountId, version } of accepted.audit) finals.set(accountId, Math.max(finals.get(accountId) ?? 0, version));
    const seen = new Map<string, number[]>();
    for (const { accountId, version } of accepted['ledger-queue'] ?? []) {
      const versions = seen.get(accountId) ?? [];
      if (!versions.includes(version)) versions.push(version);
      seen.set(accountId, versions);
    }
    for (const [accountId, final] of finals) expect(seen.get(accountId), accountId).toEqual(Array.from({ length: final }, (_, i) => i + 1));

    // report.html has the plug-in's section and charts too, drawn without errors.
    const html = join(dir, 'report.html');
    const names = Object.keys(report.destinations);
    writeFileSync(html, renderReportHtml(buildReportData({ report, timeline: pipeline.timeline, accepted, generatedAt: new Date().toISOString() })));
    expect(readFileSync(html, 'utf8')).toContain('id="chart-ledger-queue-latency"');
    const browser = chromium();
    if (!browser) {
      console.warn('npm-start-plugins.test.ts: no chromium on PATH: the report page is not opened');
      return;
    }
    const { stdout: dom } = await run(browser, ['--headless=new', '--disable-gpu', '--no-sandbox', '--virtual-time-budget=5000', '--dump-dom', `file://${html}`], {
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const body = dom.match(/<body([^>]*)>/)?.[1] ?? '';
    expect(body).toContain('data-errors="[]"');
    expect(body).toContain(`data-charts-rendered="${chartIds(names).length}"`);
  });

  it('runs it from the command line with --destinations, reports and dumps it; the default stays the three', async () => {
    const { stdout } = await run(
      join(ROOT, 'node_modules/.bin/tsx'),
      ['local/main.ts', '--accounts', '3', '--changes', '20', '--seed', '7', '--json', '--no-html', '--destinations', 'audit,search,fraud,ledger-queue', '--dump', join(dir, 'dump'), '--logs', join(dir, 'logs')],
      { cwd: ROOT, timeout: 180_000 },
    );
    const report = JSON.parse(stdout) as { ok: boolean; changes: number; destinations: Record<string, { delivered: number }> };
    expect(report.ok).toBe(true);
    expect(Object.keys(report.destinations)).toEqual(['audit', 'search', 'fraud', 'ledger-queue']);
    const dumped = readFileSync(join(dir, 'dump', 'ledger-queue.jsonl'), 'utf8').trim().split('\n');
    expect(new Set(dumped).size).toBe(report.changes);
    const log = readFileSync(join(dir, 'logs', 'ledger-queue.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(log.some((line) => line.message === 'batch done' && line.destination === 'ledger-queue')).toBe(true);
  });

  it('refuses an unknown destination, an empty list or one naming a destination twice, naming --destinations', async () => {
    for (const value of ['audit,search,fraud,nowhere', ',', 'audit,ledger-queue,audit']) {
      const refused = await run(join(ROOT, 'node_modules/.bin/tsx'), ['local/main.ts', '--destinations', value], { cwd: ROOT }).catch(
        (error: { code: number; stderr: string }) => error,
      );
      expect(refused, value).toMatchObject({ code: 1 });
      expect((refused as { stderr: string }).stderr, value).toContain('--destinations');
    }
  });
});
