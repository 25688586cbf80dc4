import { afterAll, describe, expect, inject, it } from 'vitest';
import { DESTINATION_NAMES } from '../../infra/config/pipeline-config';
import { parsePipelineConfig } from '../../infra/config/load-config';
import { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';
import type { PipelineRun } from '../../local/pipeline/run-pipeline';
import { runPipeline } from '../../local/pipeline/run-pipeline';
import { SMALL_RUN } from '../support/small-runs';
import { byAccount } from '../support/by-account';

const SMALL = { ...SMALL_RUN, seed: 11 } as const;

describe('the local pipeline (npm start): table → bridge → kinesis-local → EFO mappings → handlers → destinations', () => {
  const runs: PipelineRun[] = [];
  afterAll(async () => {
    for (const run of runs) await run.stop();
  });

  it('delivers every change with chaos on, as read back from S3, OpenSearch and the EventBridge stand-in', async () => {
    const run = await runPipeline({ ...SMALL, dynamodbEndpoint: inject('dynamodbEndpoint') });
    runs.push(run);
    const { report, accepted } = run;
    expect(report.details.capture.complete).toBe(true);
    // The chaos happened: duplicates (some on the other shard) and held-back records.
    expect(report.details.bridge.duplicates).toBeGreaterThan(0);
    expect(report.details.bridge.displaced).toBeGreaterThan(0);
    expect(report.details.converged).toBe(true);

    // Checked here from what was read back, independently of the report's own counters.
    const finals = new Map<string, number>();
    for (const { accountId, version } of accepted.audit) finals.set(accountId, Math.max(finals.get(accountId) ?? 0, version));
    expect(finals.size).toBe(report.accounts);
    const total = [...finals.values()].reduce((sum, version) => sum + version, 0);
    expect(total).toBe(report.changes);
    for (const [accountId, final] of finals) {
      const every = Array.from({ length: final }, (_, i) => i + 1);
      // audit: every version exactly once (create-only objects), in any order.
      expect([...(byAccount(accepted.audit).get(accountId) ?? [])].sort((a, b) => a - b), accountId).toEqual(every);
      // fraud: every version, once, in version order.
      expect(byAccount(accepted.fraud).get(accountId), accountId).toEqual(every);
      // search: versions only ever go up, and the last is the final one.
      const search = byAccount(accepted.search).get(accountId) ?? [];
      expect(search.at(-1), accountId).toBe(final);
      expect([...search].sort((a, b) => a - b), accountId).toEqual(search);
    }
    for (const name of DESTINATION_NAMES) {
      expect(report.destinations[name], name).toMatchObject({ missing: 0, orderViolations: 0, parked: 0, deadLettered: 0 });
      expect(report.destinations[name].latencyMs.p99, name).toBeGreaterThanOrEqual(report.destinations[name].latencyMs.p50);
    }
    expect(report.destinations.audit.duplicatesSkipped + report.destinations.fraud.duplicatesSkipped).toBeGreaterThan(0);
    expect(report.ok).toBe(true);
  });

  // Lambda runs several batches of a shard at once with a parallelizationFactor above 1, one at a time per partition
  // key: fraud's lanes are then a shard and a key, and its accounts home on them (one ledger write per batch).
  it('with a parallelization factor of 3, fraud delivers every change in order from lanes of a shard and a partition key', { timeout: 120_000 }, async () => {
    const config = parsePipelineConfig({ destinations: { fraud: { parallelizationFactor: 3 } } }, 'test');
    const run = await runPipeline({ ...SMALL, seed: 13, config, dynamodbEndpoint: inject('dynamodbEndpoint') });
    runs.push(run);
    expect(run.env.functionEnvironment('fraud')).toMatchObject({ IN_ORDER_HOME_LANES: 'partition-key', PARALLELIZATION_FACTOR: '3' });
    const { report } = run;
    expect(report.destinations.fraud).toMatchObject({ missing: 0, orderViolations: 0, parked: 0, deadLettered: 0 });
    const finals = new Map<string, number>();
    for (const { accountId, version } of run.accepted.audit) finals.set(accountId, Math.max(finals.get(accountId) ?? 0, version));
    for (const [accountId, final] of finals) expect(byAccount(run.accepted.fraud).get(accountId), accountId).toEqual(Array.from({ length: final }, (_, i) => i + 1));
    const ledger = new DynamoDBLedger({ client: run.env.dynamodb, tableName: run.env.resources.ledgerTable, destination: 'fraud', epoch: 'live' });
    const homes = [...(await ledger.load([...finals.keys()])).values()].map((w) => w.home ?? w.homeCandidate);
    // Every account's lane is its shard, the factor and the partition key its changes came with (the bridge's, as DynamoDB's: 32 hex).
    expect(homes.length).toBe(finals.size);
    for (const home of homes) expect(home).toMatch(/^shardId-\d+\/pf3\/[0-9a-f]{32}$/i);
    expect(report.ok).toBe(true);
  });

  // A destination that never recovers is told from a slow one only after the quiet window of `converge`.
  it('with fraud failing every call, audit and search complete and every fraud record is parked or dead-lettered', { timeout: 120_000 }, async () => {
    const run = await runPipeline({
      ...SMALL,
      changes: 40,
      seed: 12,
      faults: [{ destination: 'fraud', rate: 1 }],
      dynamodbEndpoint: inject('dynamodbEndpoint'),
    });
    runs.push(run);
    const { report } = run;
    expect(report.ok).toBe(false);
    for (const name of ['audit', 'search'] as const) {
      expect(run.report.details.destinations[name].ok, name).toBe(true);
      expect(report.destinations[name], name).toMatchObject({ missing: 0, orderViolations: 0, parked: 0 });
    }
    expect(run.accepted.fraud).toEqual([]);
    expect(report.destinations.fraud.delivered).toBe(0);
    // Nothing lost: every change is either waiting in the ledger or a letter in the dead-letter queue.
    expect(report.destinations.fraud.parked + report.destinations.fraud.deadLettered).toBeGreaterThanOrEqual(report.changes);
    expect(report.destinations.fraud.deadLettered).toBeGreaterThanOrEqual(report.accounts);
  });
});
