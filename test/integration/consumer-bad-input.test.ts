import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sequenceNumber } from '../../local/bridge/chaos';
import type { ChangeFeed } from '../../local/change-feed';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import type { BuiltRuntime } from '../../shared/consumer/runtime';
import { CONSUMER_RUNTIMES, startConsumerWorld, type ConsumerWorld } from '../support/consumer-world';
import { feedHandler, RecordingTelemetry } from '../support/feed-handler';
import { chaoticFeed } from '../support/feeds';
import { kdsRecord } from '../support/kds-payload';

describe('bad input: quarantined with its reason, and never blocks the records after it', () => {
  let world: ConsumerWorld;
  let feed: ChangeFeed;
  let batch: KinesisRecordInput[];
  const runtimes: BuiltRuntime[] = [];
  const shardId = 'shardId-000000000000';

  beforeAll(async () => {
    world = await startConsumerWorld('bad-input');
    // No chaos: one shard in stream order, so "the records after it" are exactly the rest of the batch.
    feed = await chaoticFeed(world, { accounts: 3, changes: 12, duplicateRate: 0, reorderRate: 0, shards: 1, batchSize: 1_000 });
    const good = (feed.feeds[0]?.batches[0] ?? []).map((record, i) => ({ ...record, sequenceNumber: sequenceNumber(0, 10 + i) }));
    const image = { account_id: 'ACC-BAD', balance: 5, currency: 'AUD', status: 'OPEN' };
    // Three bad records at the very front: not base64, a change of another table, an account without a version.
    batch = [
      { data: 'this is not base64!', sequenceNumber: sequenceNumber(0, 1), shardId },
      kdsRecord({ kind: 'INSERT', newImage: { ...image, version: 1 }, tableName: 'SomeOtherTable' }, { sequenceNumber: sequenceNumber(0, 2), shardId }),
      kdsRecord({ kind: 'INSERT', newImage: image as never, tableName: world.accountsTable }, { sequenceNumber: sequenceNumber(0, 3), shardId }),
      ...good,
    ];
  });
  afterAll(async () => {
    for (const runtime of runtimes) runtime.close();
    await world?.stop();
  });

  for (const destination of ['audit', 'search', 'fraud'] as const) {
    it(`${destination}: dead-letters each undecodable record with its reason and delivers the rest of the batch`, async () => {
      const telemetry = new RecordingTelemetry();
      const runtime = CONSUMER_RUNTIMES[destination](world.env(destination), { telemetry });
      runtimes.push(runtime);

      const { responses } = await feedHandler(createKinesisHandler(() => runtime), [{ shardId, batches: [batch] }]);

      expect(responses).toEqual([{ batchItemFailures: [] }]);
      const letters = await world.drainDeadLetters(destination);
      expect(letters.map((letter) => [letter.reason, letter.bad?.reason, letter.sequenceNumber])).toEqual([
        ['BAD_RECORD', 'NOT_BASE64', sequenceNumber(0, 1)],
        ['BAD_RECORD', 'WRONG_TABLE', sequenceNumber(0, 2)],
        ['BAD_RECORD', 'VERSION_MISSING', sequenceNumber(0, 3)],
      ]);
      expect(letters[0]?.bad?.data).toBe('this is not base64!');
      expect(letters[2]?.accountId).toBe('ACC-BAD');
      const totals = telemetry.totals();
      expect(totals.quarantined).toBe(3);
      const changes = [...feed.truth.finalVersions.values()].reduce((sum, v) => sum + v, 0);
      expect(totals.delivered).toBe(destination === 'search' ? feed.truth.finalVersions.size : changes);
    });
  }
});
