import { afterAll, describe, expect, inject, it } from 'vitest';
import { ledgerQueue } from '../../destinations/ledger-queue';
import { ledgerQueueLocal } from '../../destinations/ledger-queue/local';
import type { LocalPluginContext } from '../../local/plugins/local-plugin';
import { droppedSet } from '../../local/pipeline/operator';
import { runPipeline, type PipelineRun } from '../../local/pipeline/run-pipeline';
import { parseFault, type Fault } from '../../local/pipeline/faults';
import { BUILT_IN_DESTINATIONS, faultCatalog } from '../../local/plugins/local-destinations';
import { parseDestinationFaults } from '../../local/standins/fault-spec';
import { expectOperatedClean } from '../support/operated-clean';

/**
 * A short seeded fault run with a plug-in (ledger-queue: in-order, SQS FIFO): crashes, permanent gaps and SQS's faults
 * (`--destination-faults`, declared by the plug-in's local half). The operator must treat the plug-in by its mode, as
 * it treats fraud: skip each dropped gap with the reason, redrive its letters, and the run must verify clean,
 * ledger-queue in order.
 */
const RUN = {
  accounts: 6,
  changes: 70,
  seed: 5,
  shards: 2,
  duplicateRate: 0.05,
  reorderRate: 0.1,
  reorderWindow: 6,
  concurrency: 4,
  convergeTimeoutMs: 60_000,
  crashRate: 0.05,
  permanentGapRate: 0.05,
  plugins: [ledgerQueue],
  destinationFaults: parseDestinationFaults(
    'ledger-queue:throttle:0.05,ledger-queue:500:0.05,ledger-queue:partial:0.05,ledger-queue:slow:0.02@15000',
    faultCatalog([...BUILT_IN_DESTINATIONS, ledgerQueue as (typeof BUILT_IN_DESTINATIONS)[number]]),
  ),
} as const;

describe('npm start with faults and a plug-in destination (ledger-queue)', () => {
  const runs: PipelineRun[] = [];
  afterAll(async () => {
    for (const run of runs) await run.stop();
  });

  // About 100 s on its own on the 2-core machine (15 s slow calls, crashes and the operator's redrives), and more
  // with the rest of the suite beside it: 120 s timed out in a full run.
  it('operates the plug-in by its mode and verifies clean', { timeout: 240_000 }, async () => {
    const started = Date.now();
    const run = await runPipeline({ ...RUN, dynamodbEndpoint: inject('dynamodbEndpoint') });
    runs.push(run);
    const { report, accepted } = run;
    const { text, faults, operator } = expectOperatedClean(report);
    expect(Object.keys(faults.crashes), text).toContain('ledger-queue');
    expect(text).toMatch(/ledger-queue partial 5%: SendMessageBatch entries failing InternalError/);
    // The stand-in counted what it injected (the seeded run sends tens of calls: some are hit at these rates).
    expect(text).toMatch(/injected, as the stand-ins counted them: .*ledger-queue (?!none)\w+ \d+/);

    expect(report.details.destinations['ledger-queue'], text).toMatchObject({ ok: true, mode: 'in-order' });
    expect(report.destinations['ledger-queue'], text).toMatchObject({ missing: 0, orderViolations: 0, parked: 0, deadLettered: 0 });

    // Every dropped version was skipped in ledger-queue as in fraud (both in-order), with the reason, and nothing else.
    const dropped = droppedSet(faults.dropped.gaps);
    const droppedKeys = [...dropped].flatMap(([accountId, versions]) => [...versions].map((version) => `${accountId}#${version}`)).sort();
    for (const destination of ['ledger-queue', 'fraud']) {
      const skipped = new Set<string>();
      for (const skip of operator.gapsSkipped.filter((s) => s.destination === destination)) {
        expect(skip.reason).toBe(`dropped by --permanent-gap-rate (seed ${RUN.seed})`);
        for (let version = skip.from; version <= skip.to; version += 1) skipped.add(`${skip.accountId}#${version}`);
      }
      expect([...skipped].sort(), destination).toEqual(droppedKeys);
    }
    expect(operator.actions.some((action) => action.includes('fanout redrive ledger-queue --skip-gap')), text).toBe(true);
    for (const gap of faults.dropped.gaps) expect(gap.byDestination['ledger-queue'], JSON.stringify(gap)).toMatch(/^skipped by the operator/);

    // Read back from the FIFO queue: each account's first deliveries are 1..final without the dropped versions, in order.
    const finals = new Map<string, number>();
    for (const { accountId, version } of accepted.audit ?? []) finals.set(accountId, Math.max(finals.get(accountId) ?? 0, version));
    for (const [accountId, final] of finals) {
      const firsts: number[] = [];
      for (const { accountId: id, version } of accepted['ledger-queue'] ?? []) if (id === accountId && !firsts.includes(version)) firsts.push(version);
      const expected = Array.from({ length: Math.max(final, ...firsts) }, (_, i) => i + 1).filter((version) => !dropped.get(accountId)?.has(version));
      expect(firsts, accountId).toEqual(expected);
    }
    process.stderr.write(`fault run with ledger-queue: ${((Date.now() - started) / 1000).toFixed(1)} s\n${text}\n`);
  });

  it('accepts --fail for any destination of the run, and refuses what a stand-in cannot do', async () => {
    const fault: Fault = parseFault('ledger-queue:0.5');
    expect(fault).toEqual({ destination: 'ledger-queue', rate: 0.5 });
    // A plug-in whose stand-in cannot fail its calls: ledger-queue's, without failCalls.
    const cannotFail = {
      ...ledgerQueue,
      local: {
        start: async (context: LocalPluginContext) => {
          const { failCalls: _failCalls, ...standIn } = await ledgerQueueLocal.start(context);
          return standIn;
        },
      },
    };
    await expect(
      runPipeline({ ...RUN, destinationFaults: undefined, plugins: [cannotFail], crashRate: 0, permanentGapRate: 0, changes: 0, accounts: 2, faults: [fault], dynamodbEndpoint: inject('dynamodbEndpoint') }),
    ).rejects.toThrow(/--fail: the local stand-in of ledger-queue cannot fail its calls/);
    await expect(
      runPipeline({ ...RUN, destinationFaults: undefined, crashRate: 0, permanentGapRate: 0, changes: 0, accounts: 2, faults: [parseFault('nowhere:0.5')], dynamodbEndpoint: inject('dynamodbEndpoint') }),
    ).rejects.toThrow(/--fail: this run has no destination "nowhere"/);
  });
});
