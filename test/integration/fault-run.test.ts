import { afterAll, describe, expect, inject, it } from 'vitest';
import { DESTINATION_NAMES } from '../../infra/config/pipeline-config';
import { totalInjected } from '../../local/pipeline/fault-report';
import { droppedSet } from '../../local/pipeline/operator';
import { runPipeline, type PipelineRun } from '../../local/pipeline/run-pipeline';
import { faultCatalog } from '../../local/plugins/local-destinations';
import { parseDestinationFaults } from '../../local/standins/fault-spec';
import { byAccount } from '../support/by-account';
import { expectOperatedClean } from '../support/operated-clean';

/**
 * A short seeded fault run: crashes of the functions' execution environments, every destination fault of the stand-ins
 * (slow calls shortened so the run stays short; fraud's outlives the clients' 6 s request timeout, so its retries run
 * into the deadline of its 10 s claim), and permanent gaps. The
 * run acts as the operator and must then verify clean.
 */
const FAULT_RUN = {
  accounts: 10,
  changes: 150,
  seed: 3,
  shards: 2,
  duplicateRate: 0.05,
  reorderRate: 0.1,
  reorderWindow: 8,
  concurrency: 8,
  convergeTimeoutMs: 60_000,
  crashRate: 0.12,
  destinationFaults: parseDestinationFaults('all,audit:slow:0.01@3000,search:slow:0.01@12000,fraud:slow:0.01@15000', faultCatalog()),
  permanentGapRate: 0.04,
} as const;

describe('npm start with faults: crashes, destination faults, permanent gaps', () => {
  const runs: PipelineRun[] = [];
  afterAll(async () => {
    for (const run of runs) await run.stop();
  });

  it('injects them all, acts as the operator, and verifies clean', { timeout: 150_000 }, async () => {
    const started = Date.now();
    const run = await runPipeline({ ...FAULT_RUN, dynamodbEndpoint: inject('dynamodbEndpoint') });
    runs.push(run);
    const { report, accepted } = run;
    const { text, faults, operator } = expectOperatedClean(report);

    // Faults were injected: crashes, destination faults the stand-ins counted, versions dropped before the stream.
    expect(DESTINATION_NAMES.reduce((sum, name) => sum + faults.crashes[name].total, 0), text).toBeGreaterThan(0);
    expect(totalInjected(faults.injected), text).toBeGreaterThan(0);
    expect(faults.dropped.versions, text).toBeGreaterThan(0);
    expect(report.details.bridge.dropped).toBe(faults.dropped.versions);

    // The run converged (the operator drained everything, checked above) and verified clean.
    expect(report.details.converged, text).toBe(true);
    for (const name of DESTINATION_NAMES) {
      expect(report.destinations[name], `${name}\n${text}`).toMatchObject({ missing: 0, orderViolations: 0, parked: 0, deadLettered: 0 });
    }

    // The dropped versions are exactly the ones fraud's operator skipped, each with the reason.
    const dropped = droppedSet(faults.dropped.gaps);
    const skipped = new Set<string>();
    for (const skip of operator.gapsSkipped) {
      expect(skip.reason).toBe(`dropped by --permanent-gap-rate (seed ${FAULT_RUN.seed})`);
      for (let version = skip.from; version <= skip.to; version += 1) skipped.add(`${skip.accountId}#${version}`);
    }
    const droppedKeys = new Set([...dropped].flatMap(([accountId, versions]) => [...versions].map((version) => `${accountId}#${version}`)));
    expect([...skipped].sort()).toEqual([...droppedKeys].sort());
    // audit acknowledged only notices of dropped versions, and one for every gap something came after.
    for (const notice of operator.noticesAcknowledged) {
      for (const part of notice.versions.split(', ')) {
        const [from, to = from] = part.split('-').map(Number) as [number, number?];
        for (let version = from; version <= to; version += 1) expect(droppedKeys.has(`${notice.accountId}#${version}`), notice.versions).toBe(true);
      }
    }
    for (const gap of faults.dropped.gaps) {
      expect(gap.fraud, JSON.stringify(gap)).toMatch(/^skipped by the operator/);
      expect(gap.audit, JSON.stringify(gap)).toMatch(gap.last ? /nothing came after it|acknowledged/ : /acknowledged/);
      expect(gap.search, JSON.stringify(gap)).not.toMatch(/BEHIND/);
    }

    // Read back independently: fraud's first deliveries are 1..final without the dropped versions, in order. With the
    // default per-batch commit, a crash replays the run since the last commit: a repeat is a version already received.
    const table = new Map<string, number>();
    for (const [accountId, versions] of byAccount(accepted.audit)) table.set(accountId, Math.max(...versions));
    for (const [accountId, versions] of byAccount(accepted.fraud)) {
      const expected = Array.from({ length: Math.max(table.get(accountId) ?? 0, ...versions) }, (_, i) => i + 1).filter(
        (version) => !dropped.get(accountId)?.has(version),
      );
      const firsts = versions.filter((version, i) => versions.indexOf(version) === i);
      expect(firsts, accountId).toEqual(expected.slice(0, firsts.length));
    }
    // The report says all of it.
    expect(text).toContain('RESULT: OK');
    expect(text).toMatch(/faults {4}crashes [1-9]/);
    for (const gap of faults.dropped.gaps) expect(text).toContain(`${gap.accountId} v${gap.from === gap.to ? gap.from : `${gap.from}-${gap.to}`}`);
    expect(text).toContain(`--skip-gap`);
    process.stderr.write(`fault run: ${((Date.now() - started) / 1000).toFixed(1)} s\n${text}\n`);
  });
});
