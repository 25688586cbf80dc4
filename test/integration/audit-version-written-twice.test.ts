import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditObjectKey } from '../../consumers/audit/audit-object';
import { createAuditRuntime } from '../../consumers/audit/handler';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import type { BuiltRuntime } from '../../shared/consumer/runtime';
import { startConsumerWorld, type ConsumerWorld } from '../support/consumer-world';
import { feedHandler, RecordingTelemetry } from '../support/feed-handler';
import { kdsRecord } from '../support/kds-payload';

/*
 * The audit log on fauxqs behind the create-only proxy (S3's real 412), through the consumer: a version whose key is
 * taken by a *different* change (an account re-created at an old version after its ledger epoch forgot it, a writer
 * that wrote a version twice) is dead-lettered REJECTED with its account, version and sequence number, never counted
 * as a duplicate; the same change again still is one.
 */
describe('audit: a 412 over a different change of the same version', () => {
  let world: ConsumerWorld;
  const runtimes: BuiltRuntime[] = [];
  const shardId = 'shardId-000000000077';
  const accountId = 'acct-written-twice';

  const auditHandler = (epoch: string) => {
    const telemetry = new RecordingTelemetry();
    const runtime = createAuditRuntime(world.env('audit', { LEDGER_EPOCH: epoch, EPOCH_BASELINE: 'from-version-1' }), { telemetry });
    runtimes.push(runtime);
    return { handler: createKinesisHandler(() => runtime), telemetry };
  };
  const opening = (balance: number, sequenceNumber: string) =>
    kdsRecord(
      { kind: 'INSERT', newImage: { account_id: accountId, balance, currency: 'AUD', status: 'OPEN', version: 1 }, tableName: world.accountsTable },
      { sequenceNumber, shardId },
    );

  beforeAll(async () => {
    world = await startConsumerWorld('audit-twice');
  });
  afterAll(async () => {
    for (const runtime of runtimes) runtime.close();
    await world?.stop();
  });

  it('dead-letters the second change as REJECTED, names both, and leaves the first object as it was', async () => {
    const first = auditHandler('twice-a');
    await feedHandler(first.handler, [{ shardId, batches: [[opening(100, '49650000000000000000000000000000000000000000000000000001')]] }]);
    expect(first.telemetry.totals()).toMatchObject({ delivered: 1, deadLettered: 0 });
    const before = (await world.auditObjects()).get(auditObjectKey(accountId, 1));
    expect(before).toMatchObject({ accountId, version: 1, balanceAfter: 100 });

    // A new epoch forgets what the first delivered: only S3's 412, and what the object holds, can tell.
    const second = auditHandler('twice-b');
    const sequenceNumber = '49650000000000000000000000000000000000000000000000000002';
    const { gaveUp } = await feedHandler(second.handler, [{ shardId, batches: [[opening(500, sequenceNumber)]] }]);

    expect(gaveUp).toEqual([]);
    const totals = second.telemetry.totals();
    expect(totals.duplicates).toBe(0);
    expect(totals.deadLettered).toBe(1);
    const letters = await world.drainDeadLetters('audit');
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ destination: 'audit', epoch: 'twice-b', reason: 'REJECTED', accountId, version: 1, sequenceNumber, shardId });
    expect(letters[0]?.detail).toMatch(/PreconditionFailed.*different change \(new image differs\)/);
    expect(letters[0]?.record?.newImage?.balance).toBe(500);
    expect((await world.auditObjects()).get(auditObjectKey(accountId, 1))).toEqual(before);
  });

  it('the same change again (another copy, in a third epoch) is still a duplicate', async () => {
    const third = auditHandler('twice-c');
    await feedHandler(third.handler, [{ shardId, batches: [[opening(100, '49650000000000000000000000000000000000000000000000000003')]] }]);
    expect(third.telemetry.totals()).toMatchObject({ delivered: 0, duplicates: 1, deadLettered: 0 });
    expect(await world.drainDeadLetters('audit')).toEqual([]);
  });
});
