import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ledgerQueue } from '../../destinations/ledger-queue';
import { localStateOf, writeLocalState } from '../../local/pipeline/local-state';
import { runPipeline, type PipelineRun } from '../../local/pipeline/run-pipeline';
import type { ReportData } from '../../local/report/report-page-data';
import { chartIds } from '../../local/report/report-html';
import type { DestinationStatus, StatusSnapshot } from '../../ops/commands/status';
import { statusWatch } from '../../ops/commands/status-watch';
import { recordingIO } from '../../ops/io';
import { buildStatusReportData, thinPoints, type WatchPoint } from '../../ops/status-report';
import { localTarget, type PipelineTarget } from '../../ops/target';
import { AccountsWriter } from '../../shared/accounts/writer';
import { encodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';

const execute = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const ALL = ['audit', 'search', 'fraud', 'ledger-queue'];

/** The data a report page carries (its `report-data` script element). */
function pageData(file: string): ReportData {
  const html = readFileSync(file, 'utf8');
  const json = /<script id="report-data" type="application\/json">(.*?)<\/script>/s.exec(html)?.[1];
  expect(json, 'report-data element').toBeDefined();
  return JSON.parse(json as string) as ReportData;
}

/** Debian's `chromium` where installed (as `report-html.test.ts` finds it); the page check is skipped elsewhere. */
function chromium(): string | undefined {
  try {
    return execFileSync('/bin/sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

describe('the status report adapter', () => {
  const row = (over: Partial<DestinationStatus>): DestinationStatus => ({
    mode: 'in-order', epoch: 'live', startingPosition: 'TRIM_HORIZON', consumerArn: 'arn', consumerStatus: 'ACTIVE', accounts: 2, accountsBehind: 0,
    replayFrom: null, unchangedSinceReplayStart: 0, deletionsNotDelivered: 0, deletionSamples: [], deletionsUnverified: 0, versionsBehind: 0, watermarkVersions: 0, waitingAccounts: 0, parked: 0, oldestWaitSeconds: 0, gapTimedOut: 0, blockedOnFailure: 0,
    deadLetters: { visible: 0, inFlight: 0, total: 0 }, errors: [], ...over,
  });
  const point = (atMs: number, versions: number, q: Partial<DestinationStatus>, reasons?: Record<string, number>): WatchPoint => ({
    snapshot: { at: new Date(atMs).toISOString(), target: { kind: 'local', description: 'test', accountsTable: 'A', ledgerTable: 'L', streamArn: 's' }, accounts: 2, versions, destinations: { q: row(q) } } as StatusSnapshot,
    ...(reasons ? { deadLetterReasons: { q: reasons } } : {}),
  });
  const context = { targetDescription: 'test', intervalSeconds: 2, command: 'fanout status --watch', generatedAt: '2026-01-01T00:00:00.000Z' };

  it('turns running totals into rates, lag and what waits at the end; a new epoch is no progress and is marked', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const data = buildStatusReportData([
      point(t0, 10, { watermarkVersions: 4, versionsBehind: 6 }),
      point(t0 + 2_000, 30, { watermarkVersions: 24, versionsBehind: 6 }),
      point(t0 + 4_000, 30, { watermarkVersions: 30, versionsBehind: 0 }),
      point(t0 + 6_000, 31, { epoch: 'replay-1', watermarkVersions: 2, versionsBehind: 29, deadLetters: { visible: 1, inFlight: 0, total: 1 } }, { GAP_TIMEOUT: 1 }),
    ], context);
    expect(data.t).toEqual([0, 2, 4, 6]);
    expect(data.committed).toEqual([0, 10, 0, 0.5]);
    const q = data.destinations.q!;
    expect(q.throughput).toEqual([0, 10, 3, 0]);
    expect(q.lag).toEqual([6, 6, 0, 29]);
    expect(q.summary).toMatchObject({ delivered: 26, deadLettered: 1, missing: 29 });
    expect(q.deadLetters.inQueueByReason).toEqual({ GAP_TIMEOUT: 1 });
    expect(data.phases).toEqual([{ at: 6, label: 'q: epoch replay-1' }]);
    expect(data.verdict).toMatchObject({ ok: false, failing: ['q'] });
    expect(data.verdict.headline).toContain('q: 1 dead letters');
    expect(data.facts.join('\n')).toContain('21 changes committed while watched');
    expect(q.statsText).toContain('0 deletions not delivered.');
  });

  it('draws at most 600 points of a long watch, the first and the last among them', () => {
    const many = Array.from({ length: 1_500 }, (_, i) => i);
    const thin = thinPoints(many);
    expect(thin).toHaveLength(600);
    expect([thin[0], thin.at(-1)]).toEqual([0, 1_499]);
  });
});

describe('fanout status --watch on a local pipeline with a plug-in', () => {
  const dir = mkdtempSync(join(tmpdir(), 'status-watch-'));
  let run: PipelineRun;
  let target: PipelineTarget;
  let stateFile: string;

  beforeAll(async () => {
    run = await runPipeline({
      accounts: 4, changes: 20, seed: 5, shards: 1, duplicateRate: 0.1, reorderRate: 0.1, reorderWindow: 4, concurrency: 4,
      convergeTimeoutMs: 60_000, plugins: [ledgerQueue], dynamodbEndpoint: inject('dynamodbEndpoint'),
    });
    const state = localStateOf(run.env, run.config);
    stateFile = join(dir, 'local.json');
    writeLocalState(state, stateFile);
    target = localTarget(state);
  });

  afterAll(async () => {
    await target?.close();
    await run?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('re-reads the status every interval while changes flow, and writes report.html with throughput, lag and dead letters by reason', { timeout: 120_000 }, async () => {
    expect(run.report.ok).toBe(true);
    const dlq = run.env.resources.deadLetterQueues['ledger-queue'] as string;
    const notice = { destination: 'ledger-queue', epoch: 'live', reason: 'GAP_TIMEOUT', detail: 'never came', attempts: 0, accountId: 'X', missing: [[2, 3]], at: Date.now() } as const;
    await run.env.sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: encodeDeadLetter(notice) }));

    const writer = new AccountsWriter({ client: run.env.dynamodb, tableName: run.env.resources.accountsTable });
    const accounts = [...new Set(run.accepted.audit.map(({ accountId }) => accountId))];
    const deposits = 12;
    const reportDir = join(dir, 'watch');
    const abort = new AbortController();
    const io = recordingIO();
    const seen: WatchPoint[] = [];
    const code = await statusWatch(target, {
      intervalSeconds: 0.5,
      iterations: 120,
      reportDir,
      signal: abort.signal,
      onSnapshot: async (point, index) => {
        seen.push(point);
        if (index === 0) for (let i = 0; i < deposits; i += 1) await writer.deposit(accounts[i % accounts.length] as string, 5);
        // Done once every destination has caught up with the new changes (and a snapshot has seen it).
        const rows = Object.values(point.snapshot.destinations);
        if (index > 0 && rows.every((row) => row.versionsBehind === 0)) abort.abort();
      },
    }, io);
    expect(code).toBe(0);
    expect(abort.signal.aborted, 'the destinations caught up within the watch').toBe(true);
    expect(io.lines.filter((line) => line.startsWith('ledger-queue ')).length).toBe(seen.length);
    expect(io.lines.join('\n')).toContain('ledger-queue: dead letters by reason: GAP_TIMEOUT 1');

    const html = join(reportDir, 'report.html');
    expect(existsSync(html)).toBe(true);
    const data = pageData(html);
    expect(Object.keys(data.destinations)).toEqual(ALL);
    expect(data.t).toHaveLength(seen.length);
    expect(data.facts.join('\n')).toContain(`${deposits} changes committed while watched`);
    for (const name of ALL) {
      // Every change committed during the watch moved each destination's watermarks by one version.
      expect(data.destinations[name]?.summary.delivered, name).toBe(deposits);
      expect(data.destinations[name]?.throughput.some((rate) => rate > 0), name).toBe(true);
      expect(data.destinations[name]?.lag.at(-1), name).toBe(0);
    }
    expect(data.destinations['ledger-queue']).toMatchObject({ mode: 'in-order', ok: false, deadLetters: { leftInQueue: 1, inQueueByReason: { GAP_TIMEOUT: 1 } } });
    expect(data.verdict.headline).toMatch(/^NEEDS AN OPERATOR .*ledger-queue: 1 dead letters/);
    const json = JSON.parse(readFileSync(join(reportDir, 'report.json'), 'utf8')) as { snapshots: WatchPoint[] };
    expect(json.snapshots).toHaveLength(seen.length);
    // Reading the letters by reason leaves them where they were.
    const { Attributes } = await run.env.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(Number(Attributes?.ApproximateNumberOfMessages)).toBe(1);

    const browser = chromium();
    if (!browser) {
      console.warn('status-watch.test.ts: no chromium on PATH: the report page is not opened');
      return;
    }
    const { stdout: dom } = await execute(browser, ['--headless=new', '--disable-gpu', '--no-sandbox', '--virtual-time-budget=5000', '--dump-dom', `file://${html}`], {
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const body = dom.match(/<body([^>]*)>/)?.[1] ?? '';
    expect(body).toContain('data-errors="[]"');
    expect(body).toContain(`data-charts-rendered="${chartIds(ALL).length}"`);
  });

  it('the command line: --watch --interval --iterations writes a valid report.html after N snapshots and exits', { timeout: 120_000 }, async () => {
    const reportDir = join(dir, 'cli');
    const { stdout, stderr } = await execute(
      join(ROOT, 'node_modules/.bin/tsx'),
      ['ops/main.ts', 'status', '--state-file', stateFile, '--watch', '--interval', '0.2', '--iterations', '3', '--report-dir', reportDir],
      { cwd: ROOT, timeout: 120_000 },
    );
    expect(stdout).toContain('snapshot 3 at');
    expect(stdout).not.toContain('snapshot 4 at');
    expect(stderr).toContain(`report: ${join(reportDir, 'report.html')} (3 snapshots)`);
    const data = pageData(join(reportDir, 'report.html'));
    expect(data.t).toHaveLength(3);
    expect(Object.keys(data.destinations)).toEqual(ALL);
    expect(data.title).toContain('status over time');
  });
});
