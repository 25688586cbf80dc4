import { monotonicFactory } from 'ulid';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { createAuditRuntime } from '../../consumers/audit/handler';
import { createFraudRuntime } from '../../consumers/fraud/handler';
import type { FraudEventDetail } from '../../consumers/fraud/fraud-event';
import { localLambdaContext, toLambdaKinesisEvent } from '../../local/lambda-event';
import type { AccountImage } from '../../shared/accounts/account';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import type { BuiltRuntime } from '../../shared/consumer/runtime';
import { createSweepHandler } from '../../shared/consumer/sweep-handler';
import { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';
import { kdsRecord } from '../support/kds-payload';
import { startConsumerWorld, type ConsumerWorld } from '../support/consumer-world';
import { RecordingTelemetry, TEST_STREAM_ARN } from '../support/feed-handler';

/**
 * The scheduled gap sweeper against the emulators: records parked behind a missing version are timed out (GAP_TIMEOUT
 * letters) by a sweep, with no further traffic, and the sweep's metrics (GapTimeouts, the waiting metrics) go out.
 *
 * A single missing version is healed from its neighbours (README, "healed"): with real images, versions 1, 2, 4, 5
 * deliver a rebuilt 3 and nothing waits. So the gap cases lose two versions in a row (3 and 4), which cannot be healed.
 */

const nextId = monotonicFactory();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One account's real history: version 1 opens it, each later version deposits or withdraws, images chained. */
function history(accountId: string, versions: number): AccountImage[] {
  const at = (v: number) => new Date(Date.UTC(2026, 10, 23, 0, 0, v)).toISOString();
  const images: AccountImage[] = [];
  let balance = 1_000;
  for (let version = 1; version <= versions; version += 1) {
    const amount = version === 1 ? 0 : version % 2 === 0 ? 200 : -30;
    balance += amount;
    images.push({
      account_id: accountId,
      balance,
      currency: 'AUD',
      status: 'OPEN',
      version,
      opened_at: at(1),
      updated_at: at(version),
      last_change: version === 1 ? { type: 'OPENED', amount: 0 } : { type: amount > 0 ? 'DEPOSIT' : 'WITHDRAWAL', amount: Math.abs(amount) },
    });
  }
  return images;
}

describe('gap sweeper: scheduled sweeps of accounts waiting for a missing version', () => {
  let world: ConsumerWorld;
  const runtimes: BuiltRuntime[] = [];
  let sequence = 1_000;

  /** The account's Kinesis records for `versions` (the others are lost), in version order. */
  const recordsOf = (images: readonly AccountImage[], versions: readonly number[]): KinesisRecordInput[] =>
    versions.map((version) => {
      const newImage = images[version - 1] as AccountImage;
      const oldImage = images[version - 2];
      sequence += 1;
      return kdsRecord(
        { kind: version === 1 ? 'INSERT' : 'MODIFY', newImage, ...(oldImage ? { oldImage } : {}), tableName: world.accountsTable },
        { sequenceNumber: String(sequence).padStart(56, '0'), createdAtMicros: (Date.now() - 60_000 + version) * 1000 },
      );
    });

  const runtime = (destination: 'fraud' | 'audit', overrides: Record<string, string>, telemetry = new RecordingTelemetry()) => {
    const env = world.env(destination, { MAX_GAP_AGE_SECONDS: '1', ...overrides });
    const built = destination === 'fraud' ? createFraudRuntime(env, { telemetry }) : createAuditRuntime(env, { telemetry });
    runtimes.push(built);
    return { runtime: built, telemetry };
  };

  /** One batch through the consumer's Lambda handler, as the event source mapping would hand it over. */
  const consume = async (destination: 'fraud' | 'audit', records: readonly KinesisRecordInput[]) => {
    const { runtime: built, telemetry } = runtime(destination, {});
    const handler = createKinesisHandler(() => built);
    const response = await handler(toLambdaKinesisEvent(records, { region: 'us-east-1', streamArn: TEST_STREAM_ARN }), localLambdaContext(destination, 60_000));
    expect(response.batchItemFailures).toEqual([]);
    return telemetry;
  };

  /** The sweeper's Lambda handler, built like the consumer's; invoked with an empty (scheduled) event. */
  const sweep = async (destination: 'fraud' | 'audit', overrides: Record<string, string> = {}) => {
    const { runtime: built, telemetry } = runtime(destination, overrides);
    const result = await createSweepHandler(() => built)({}, localLambdaContext(`${destination}-sweeper`, 60_000));
    expect(telemetry.batches).toHaveLength(1);
    return { result, batch: telemetry.batches[0]! };
  };

  const ledger = (destination: 'fraud' | 'audit') =>
    new DynamoDBLedger({ client: world.dynamodb, tableName: world.ledgerTable, destination, epoch: 'live' });
  const parkedVersions = async (destination: 'fraud' | 'audit', accountId: string) =>
    (await ledger(destination).parked(accountId, 1, Number.MAX_SAFE_INTEGER, 100_000)).map((record) => record.version).sort((a, b) => a - b);
  const waitingAccounts = async (destination: 'fraud' | 'audit') => {
    const ids: string[] = [];
    for await (const { accountId } of ledger(destination).waiting()) ids.push(accountId);
    return ids;
  };
  const fraudEvents = (accountId: string) =>
    world.eventBridge
      .events(world.bus)
      .map((event) => event.detail as FraudEventDetail)
      .filter((detail) => detail.accountId === accountId);

  beforeAll(async () => {
    world = await startConsumerWorld('sweeper');
  });
  afterAll(async () => {
    for (const built of runtimes) built.close();
    await world?.stop();
  });

  it('fraud: 1, 2, 5, 6 (3 and 4 lost): 5 and 6 park; after the gap age one GAP_TIMEOUT notice; a skip delivers them', async () => {
    const accountId = nextId();
    const images = history(accountId, 6);
    const consumed = await consume('fraud', recordsOf(images, [1, 2, 5, 6]));
    expect(consumed.totals()).toMatchObject({ delivered: 2, parked: 2, gapTimeouts: 0 });
    expect(await parkedVersions('fraud', accountId)).toEqual([5, 6]);

    // Before the gap age (here 60 s) a sweep leaves them parked, and says so in the waiting metrics.
    const early = await sweep('fraud', { MAX_GAP_AGE_SECONDS: '60' });
    expect(early.result.swept).toMatchObject({ gapTimeouts: 0, deadLettered: 0 });
    expect(early.batch.waiting?.accounts).toBeGreaterThanOrEqual(1);
    expect(await parkedVersions('fraud', accountId)).toEqual([5, 6]);

    await sleep(1_200);
    const { result, batch } = await sweep('fraud');

    expect(result).toMatchObject({ destination: 'fraud', failed: 0 });
    expect(result.swept).toMatchObject({ gapTimeouts: 1, deadLettered: 1, unparked: 0, delivered: 0 });
    expect(batch.deadLetters.map((letter) => [letter.accountId, letter.version])).toEqual([[accountId, 3]]);
    const letters = (await world.drainDeadLetters('fraud')).filter((letter) => letter.accountId === accountId);
    expect(letters).toMatchObject([{ reason: 'GAP_TIMEOUT', destination: 'fraud', epoch: 'live', version: 3, missing: [[3, 4]], waiting: 2 }]);
    expect(letters[0]?.record).toBeUndefined();
    // The records stay parked, durably, and the account stays visible as waiting until someone acts.
    expect(await parkedVersions('fraud', accountId)).toEqual([5, 6]);
    expect(await waitingAccounts('fraud')).toContain(accountId);
    expect(fraudEvents(accountId).map((detail) => detail.version)).toEqual([1, 2]);
    const again = await sweep('fraud');
    expect(again.result.swept).toMatchObject({ gapTimeouts: 0, deadLettered: 0 });

    // The operator's skip: 3 and 4 are given up on with a reason, and 5 and 6 go out in order.
    const built = runtime('fraud', {}).runtime;
    const skipped = await built.consumer.command({ command: 'skip-gap', accountId, through: 4, reason: 'lost upstream' });
    expect(skipped.result.orderedFanout).toMatchObject({ skip: { skipped: { from: 3, to: 4 } }, counts: { delivered: 2, gapsSkipped: 1, versionsSkipped: 2 } });
    expect(skipped.result.orderedFanout.accounts[0]).toMatchObject({ state: 'in-step', version: 6, skipped: [[3, 4]], skips: [{ from: 3, to: 4, reason: 'lost upstream' }] });
    expect(fraudEvents(accountId).map((detail) => detail.version)).toEqual([1, 2, 5, 6]);
    expect(await parkedVersions('fraud', accountId)).toEqual([]);
    expect(await waitingAccounts('fraud')).not.toContain(accountId);
  });

  it('fraud: 1, 2, 4, 5 (3 lost): 3 is healed from its neighbours at once, so nothing waits for the sweep', async () => {
    const accountId = nextId();
    const consumed = await consume('fraud', recordsOf(history(accountId, 5), [1, 2, 4, 5]));
    expect(consumed.totals()).toMatchObject({ delivered: 5, healed: 1, parked: 0 });
    const events = fraudEvents(accountId);
    expect(events.map((detail) => detail.version)).toEqual([1, 2, 3, 4, 5]);
    expect(events.find((detail) => detail.version === 3)).toMatchObject({ healed: true });

    await sleep(1_200);
    const { result } = await sweep('fraud');
    expect(result.swept).toMatchObject({ gapTimeouts: 0, deadLettered: 0 });
    expect(await waitingAccounts('fraud')).not.toContain(accountId);
  });

  it('audit: 1, 2, 5, 6 are delivered at once; a sweep after the gap age sends one notice naming 3 and 4', async () => {
    const accountId = nextId();
    const consumed = await consume('audit', recordsOf(history(accountId, 6), [1, 2, 5, 6]));
    expect(consumed.totals()).toMatchObject({ delivered: 4, parked: 0 });
    expect(await waitingAccounts('audit')).toContain(accountId);

    await sleep(1_200);
    const { result } = await sweep('audit');

    expect(result.swept).toMatchObject({ gapTimeouts: 1, deadLettered: 1 });
    const letters = (await world.drainDeadLetters('audit')).filter((letter) => letter.accountId === accountId);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ reason: 'GAP_TIMEOUT', destination: 'audit', version: 3, missing: [[3, 4]] });
    expect(await waitingAccounts('audit')).not.toContain(accountId);
  });

  it('fraud: a sweep that cannot store a due GAP_TIMEOUT notice (dead-letter queue gone) reports the account failed', async () => {
    const accountId = nextId();
    await consume('fraud', recordsOf(history(accountId, 6), [1, 2, 5, 6]));
    await sleep(1_200);
    const queue = world.env('fraud').DEAD_LETTER_QUEUE_URL as string;
    const { result, batch } = await sweep('fraud', { DEAD_LETTER_QUEUE_URL: `${queue}-gone` });

    // Before, a sweep had no batch records to fail: it answered failed 0, and the missing notice went unseen.
    expect(result.failed).toBeGreaterThanOrEqual(1);
    expect(batch.failures).toContainEqual(expect.objectContaining({ accountId, version: 3 }));
    // Nothing lost: the records stay parked, and the notice stays pending for a later sweep to send.
    expect(await parkedVersions('fraud', accountId)).toEqual([5, 6]);
  });

  describe('with the real PowertoolsTelemetry', () => {
    let stdout: MockInstance<(chunk: unknown) => boolean>;
    afterEach(() => {
      vi.restoreAllMocks();
      vi.unstubAllEnvs();
    });

    it('the module Lambda runs (consumers/fraud/sweeper.ts) prints GapTimeouts as EMF with the destination dimension', async () => {
      const accountId = nextId();
      await consume('fraud', recordsOf(history(accountId, 5), [1, 2, 5]));
      expect(await parkedVersions('fraud', accountId)).toEqual([5]);
      await sleep(1_200);

      vi.stubEnv('POWERTOOLS_DEV', undefined);
      vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', undefined);
      vi.stubEnv('POWERTOOLS_METRICS_DISABLED', undefined);
      vi.stubEnv('POWERTOOLS_SERVICE_NAME', undefined);
      for (const [name, value] of Object.entries(world.env('fraud', { MAX_GAP_AGE_SECONDS: '1' }))) vi.stubEnv(name, value);
      stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true) as unknown as typeof stdout;
      vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      const { handler } = await import('../../consumers/fraud/sweeper');

      const result = await handler({ 'detail-type': 'Scheduled Event', source: 'aws.events' }, localLambdaContext('fraud-sweeper', 60_000));

      expect(result.swept.gapTimeouts).toBe(1);
      const lines = stdout.mock.calls
        .flatMap(([chunk]) => String(chunk).split('\n'))
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const emf = lines.filter((line) => '_aws' in line) as {
        _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
        [key: string]: unknown;
      }[];
      expect(emf).toHaveLength(1);
      const [blob] = emf;
      const [directive] = blob!._aws.CloudWatchMetrics;
      // The alarm's metric: namespace OrderedFanout, dimensions service + destination, GapTimeouts summed.
      expect(directive?.Namespace).toBe('OrderedFanout');
      expect(directive?.Dimensions).toContainEqual(expect.arrayContaining(['service', 'destination']));
      expect(blob).toMatchObject({ destination: 'fraud', service: 'ordered-fanout', GapTimeouts: 1, DeadLettered: 1 });
      const names = directive?.Metrics.map((metric) => metric.Name);
      expect(names).toEqual(expect.arrayContaining(['GapTimeouts', 'DeadLettered', 'Healed', 'WaitingAccounts', 'OldestParkedAge', 'AccountsParkedTooLong']));
      const letters = (await world.drainDeadLetters('fraud')).filter((letter) => letter.accountId === accountId);
      expect(letters).toMatchObject([{ reason: 'GAP_TIMEOUT', version: 3, missing: [[3, 4]] }]);
    });
  });
});
