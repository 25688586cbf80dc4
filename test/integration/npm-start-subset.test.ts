import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { localStateOf } from '../../local/pipeline/local-state';
import { formatPipelineReport } from '../../local/pipeline/print-report';
import { runPipeline, type PipelineRun } from '../../local/pipeline/run-pipeline';
import { parseDestinationList } from '../../local/plugins/destination-selection';
import { BUILT_IN_DESTINATIONS, faultCatalog } from '../../local/plugins/local-destinations';
import { standInOf } from '../../local/pipeline/read-back';
import { parseDestinationFaults } from '../../local/standins/fault-spec';
import { redrive } from '../../ops/commands/redrive';
import { recordingIO } from '../../ops/io';
import { localTarget, type PipelineTarget } from '../../ops/target';
import { SMALL_RUN } from '../support/small-runs';
import { byAccount } from '../support/by-account';
import { expectOperatedClean } from '../support/operated-clean';

const execute = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

describe('npm start with some of the destinations (--destinations audit,ledger-queue)', () => {
  const runs: PipelineRun[] = [];
  const targets: PipelineTarget[] = [];
  afterAll(async () => {
    for (const target of targets) await target.close();
    for (const run of runs) await run.stop();
  });

  it('runs only those, each on its own stand-in, and verifies them; --fail ledger-queue fails SQS calls it then retries', { timeout: 180_000 }, async () => {
    const destinations = parseDestinationList('ledger-queue,audit');
    expect(destinations.map(({ runtime }) => runtime.name)).toEqual(['audit', 'ledger-queue']);
    const run = await runPipeline({
      ...SMALL_RUN,
      seed: 15,
      destinations,
      faults: [{ destination: 'ledger-queue', rate: 0.2 }],
      dynamodbEndpoint: inject('dynamodbEndpoint'),
    });
    runs.push(run);
    const { report, env } = run;
    const text = formatPipelineReport(report);
    expect(Object.keys(report.destinations)).toEqual(['audit', 'ledger-queue']);
    expect(env.destinations.map(({ name }) => name)).toEqual(['audit', 'ledger-queue']);
    // Nothing of the others was started: their stand-ins are their local halves' to start.
    expect(Object.keys(env.endpoints)).toEqual(['dynamodb', 'kinesis', 'fauxqs', 's3']);
    expect(report.destinations.audit, text).toMatchObject({ missing: 0, orderViolations: 0, parked: 0, deadLettered: 0 });
    expect(report.destinations['ledger-queue'], text).toMatchObject({ orderViolations: 0 });
    // The proxy failed a fifth of ledger-queue's SendMessageBatch calls: the adapter retried them, as with SQS.
    expect(report.details.destinations['ledger-queue']?.retries, text).toBeGreaterThan(0);

    // A call that keeps failing past its retries or its deadline (a loaded machine makes each call slower) is a
    // DELIVERY_FAILED letter, and its account waits for it: the outage is the run's, so it is not operated. Then,
    // as the runbook has it, the outage ends and the operator redrives; with no letters that is a no-op.
    standInOf(env, 'ledger-queue').failCalls?.(0, 1);
    const target = localTarget(localStateOf(env, run.config));
    targets.push(target);
    const io = recordingIO(true);
    expect(await redrive(target, { destination: 'ledger-queue' }, io), io.lines.join('\n')).toBe(0);
    const redriven = JSON.parse(io.lines[0] ?? '{}') as { drained: boolean; total: { received: number; redriven: number }; reasons: Record<string, unknown> };
    expect(redriven, io.lines[0]).toMatchObject({ drained: true, total: { redriven: redriven.total.received } });
    expect(Object.keys(redriven.reasons).filter((reason) => reason !== 'DELIVERY_FAILED'), io.lines[0]).toEqual([]);
    expect(report.destinations['ledger-queue']?.deadLettered, text).toBe(redriven.total.received);
    if (redriven.total.received === 0) expect([report.ok, report.details.converged], text).toEqual([true, true]);

    // Read back independently: audit has every version once, ledger-queue every version in order. What the redrive
    // sent back is delivered when it returns, with what waited behind it: it revisits the accounts whose home lane or
    // a fence held a redriven version (`settled`) instead of leaving them to the sweeper.
    const audit = await standInOf(env, 'audit').readBack();
    const queued = byAccount(await standInOf(env, 'ledger-queue').readBack());
    const finals = new Map<string, number>();
    for (const { accountId, version } of audit) finals.set(accountId, Math.max(finals.get(accountId) ?? 0, version));
    expect([...finals.values()].reduce((sum, version) => sum + version, 0)).toBe(report.changes);
    for (const [accountId, final] of finals) {
      const every = Array.from({ length: final }, (_, i) => i + 1);
      expect([...(byAccount(audit).get(accountId) ?? [])].sort((a, b) => a - b), accountId).toEqual(every);
      const versions = queued.get(accountId) ?? [];
      expect(versions.filter((version, i) => versions.indexOf(version) === i), `${accountId}\n${io.lines[0]}`).toEqual(every);
    }

    // The report and the state file have the run's destinations only.
    expect(text).not.toMatch(/search|fraud/);
    // A short run on a loaded machine may make every change within the warm-up: then the line says so.
    const warm = Object.values(report.details.destinations).some((d) => d.warmLatencyMs.samples > 0);
    expect(text).toMatch(
      warm ? /^warm {6}commit → delivery of the changes made after the first 8 s: audit (p50|none)/m : /^warm {6}none: every change was made within the first 8 s/m,
    );
    expect(Object.keys(localStateOf(env, run.config).destinations)).toEqual(['audit', 'ledger-queue']);
  });

  it('refuses destination faults the run cannot apply before anything starts', async () => {
    const options = { ...SMALL_RUN, seed: 16, destinations: [BUILT_IN_DESTINATIONS[0]!], dynamodbEndpoint: inject('dynamodbEndpoint') };
    await expect(runPipeline({ ...options, destinationFaults: parseDestinationFaults('search:429:0.1', faultCatalog()) })).rejects.toThrow(
      /--destination-faults: this run has no destination "search" \(it has audit\)/,
    );
    const withQueue = parseDestinationList('audit,ledger-queue');
    await expect(
      runPipeline({ ...options, destinations: withQueue, destinationFaults: { rules: [{ destination: 'ledger-queue', fault: '429', rate: 0.1 }] } }),
    ).rejects.toThrow(/--destination-faults: ledger-queue has no fault "429" \(500, throttle, partial, slow\)/);
  });

  // The operator works through fanout, which takes a run with any set of destinations: a subset is operated by mode.
  it('runs a fault run on a subset: crashes and permanent gaps, operated by mode through fanout, verified clean', { timeout: 150_000 }, async () => {
    const run = await runPipeline({
      ...SMALL_RUN,
      seed: 17,
      destinations: parseDestinationList('audit,ledger-queue'),
      crashRate: 0.05,
      permanentGapRate: 0.05,
      dynamodbEndpoint: inject('dynamodbEndpoint'),
    });
    runs.push(run);
    const { report } = run;
    const { text, operator } = expectOperatedClean(report);
    expect(Object.keys(report.destinations).sort(), text).toEqual(['audit', 'ledger-queue']);
    // ledger-queue is in-order: its dropped gaps were skipped by the operator, with the reason; audit's were acknowledged.
    expect(operator.gapsSkipped.every((skip) => skip.destination === 'ledger-queue'), text).toBe(true);
    expect(report.destinations['ledger-queue'], text).toMatchObject({ orderViolations: 0, parked: 0, deadLettered: 0 });
    expect(text).not.toMatch(/search|fraud/);
  });

  it('reads --destination-faults against --destinations on the command line, whatever their order', async () => {
    const refused = await execute(
      join(ROOT, 'node_modules/.bin/tsx'),
      ['local/main.ts', '--destination-faults', 'all,search:429:0.1', '--destinations', 'audit,ledger-queue'],
      { cwd: ROOT },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toContain(`option '--destination-faults <spec>' argument 'all,search:429:0.1' is invalid`);
    expect((refused as { stderr: string }).stderr).toContain('names an unknown destination "search" (audit, ledger-queue)');
  });

  it('refuses options it cannot use before it starts anything, naming the option and why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'npm-start-options-'));
    writeFileSync(join(dir, 'not-json.json'), '{ "destinations": ');
    writeFileSync(join(dir, 'a-file'), '');
    writeFileSync(join(dir, 'bad-setting.json'), JSON.stringify({ destinations: { audit: { batchSize: 0 } } }));
    const cases: [string[], string][] = [
      [['--fail', 'fraud:0.5', '--destinations', 'audit'], `option '--fail <destination:rate>' is invalid: this run has no destination "fraud" (it has audit); add it with --destinations`],
      [['--fail', 'bogus:0.5'], `option '--fail <destination:rate>' is invalid: there is no destination "bogus" (there are audit, search, fraud, ledger-queue)`],
      [['--config', join(dir, 'missing.json')], `--config ${join(dir, 'missing.json')}: cannot read it (ENOENT)`],
      [['--config', join(dir, 'not-json.json')], `--config ${join(dir, 'not-json.json')}: not valid JSON`],
      [['--config', join(dir, 'bad-setting.json')], `--config destinations.audit.batchSize: must be`],
      [['--dump', join(dir, 'a-file', 'dump')], `option '--dump <dir>' argument '${join(dir, 'a-file', 'dump')}' is invalid: ENOTDIR`],
    ];
    for (const [args, message] of cases) {
      const started = Date.now();
      const refused = await execute(join(ROOT, 'node_modules/.bin/tsx'), ['local/main.ts', ...args, '--no-html'], { cwd: ROOT }).catch(
        (error: { code: number; stderr: string }) => error,
      );
      expect(refused, args.join(' ')).toMatchObject({ code: 1 });
      expect((refused as { stderr: string }).stderr, args.join(' ')).toContain(message);
      // Refused before the emulators start (DynamoDB Local's JVM alone takes longer), and without a stack trace.
      expect((refused as { stderr: string }).stderr).not.toMatch(/^\s+at /m);
      expect(Date.now() - started).toBeLessThan(20_000);
    }
  });
});
