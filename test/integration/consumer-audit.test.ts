import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditObjectKey } from '../../consumers/audit/audit-object';
import { createAuditRuntime } from '../../consumers/audit/handler';
import type { ChangeFeed } from '../../local/change-feed';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import type { BuiltRuntime } from '../../shared/consumer/runtime';
import { startConsumerWorld, type ConsumerWorld } from '../support/consumer-world';
import { feedHandler, RecordingTelemetry } from '../support/feed-handler';
import { chaoticFeed, versionsOf } from '../support/feeds';
import { kdsRecord } from '../support/kds-payload';

describe('audit consumer: Kinesis events → S3, one immutable object per version', () => {
  let world: ConsumerWorld;
  let feed: ChangeFeed;
  const runtimes: BuiltRuntime[] = [];

  const auditHandler = (overrides: Record<string, string> = {}) => {
    const telemetry = new RecordingTelemetry();
    const runtime = createAuditRuntime(world.env('audit', overrides), { telemetry });
    runtimes.push(runtime);
    return { handler: createKinesisHandler(() => runtime), telemetry };
  };

  beforeAll(async () => {
    world = await startConsumerWorld('audit');
    feed = await chaoticFeed(world);
  });
  afterAll(async () => {
    for (const runtime of runtimes) runtime.close();
    await world?.stop();
  });

  it('writes exactly one object per account version, from duplicated and reordered input', async () => {
    expect(feed.capture.complete).toBe(true);
    expect(feed.chaos.stats.duplicates).toBeGreaterThan(0);
    const { handler, telemetry } = auditHandler();

    const { gaveUp } = await feedHandler(handler, feed.feeds);

    expect(gaveUp).toEqual([]);
    expect(telemetry.errors).toEqual([]);
    const expected = versionsOf(feed);
    const objects = await world.auditObjects();
    expect([...objects.keys()].sort()).toEqual(expected.map((v) => auditObjectKey(v.accountId, v.version)).sort());
    for (const { accountId, version, balance } of expected) {
      const object = objects.get(auditObjectKey(accountId, version));
      expect(object).toMatchObject({ format: 'ordered-fanout.audit/1', accountId, version, previousVersion: version - 1 });
      expect(object?.balanceAfter ?? undefined).toBe(balance);
      expect(object?.balanceDelta).toBe((object?.balanceAfter ?? 0) - (object?.balanceBefore ?? 0));
      expect(object?.occurredAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    }
    const totals = telemetry.totals();
    expect(totals.delivered).toBe(expected.length);
    expect(totals.duplicates).toBeGreaterThanOrEqual(feed.chaos.stats.duplicates);
    expect(totals.deadLettered + totals.failures + totals.quarantined).toBe(0);
    expect(await world.drainDeadLetters('audit')).toEqual([]);
  });

  it('delivers accounts whose ids no header or key takes as they are: non-Latin text, and the longest id the table allows', async () => {
    // An HTTP header carries nothing above U+00FF (the SDK threw for these), and S3 keys end at 1,024 bytes.
    const ids = ['账户-0001', 'Zoë Ωmega/1 2', `${'账'.repeat(682)}ab`, `${'x'.repeat(1500)}-1`, `${'x'.repeat(1500)}-2`];
    const records = ids.map((accountId, index) =>
      kdsRecord(
        { kind: 'INSERT', newImage: { account_id: accountId, balance: 100, currency: 'AUD', status: 'OPEN', version: 1 }, tableName: world.accountsTable },
        { sequenceNumber: `4965000000000000000000000000000000000000000000000${String(index).padStart(7, '0')}`, shardId: 'shardId-000000000042' },
      ),
    );
    const { handler, telemetry } = auditHandler({ LEDGER_EPOCH: 'long-ids' });

    const { gaveUp } = await feedHandler(handler, [{ shardId: 'shardId-000000000042', batches: [records] }]);

    expect(gaveUp).toEqual([]);
    expect(telemetry.errors).toEqual([]);
    expect(telemetry.totals()).toMatchObject({ delivered: ids.length, deadLettered: 0, failures: 0, quarantined: 0 });
    const objects = await world.auditObjects();
    const keys = ids.map((accountId) => auditObjectKey(accountId, 1));
    expect(new Set(keys).size).toBe(ids.length);
    for (const [index, accountId] of ids.entries()) {
      expect(Buffer.byteLength(keys[index] as string)).toBeLessThanOrEqual(1024);
      expect(objects.get(keys[index] as string)).toMatchObject({ accountId, version: 1 });
    }
  });

  it('lists one account history in version order under its own prefix', async () => {
    const [accountId, versions] = [...feed.truth.history][0] as [string, ReadonlyMap<number, number | undefined>];
    const keys = [...(await world.auditObjects()).keys()].filter((key) => key.startsWith(`changes/account_id=${accountId}/`));
    // S3 lists keys in UTF-8 byte order; zero-padded versions make that version order.
    expect(keys).toEqual([...versions.keys()].sort((a, b) => a - b).map((version) => auditObjectKey(accountId, version)));
  });

  it('counts a create-only write that finds its object (S3 412) as a duplicate, not an error', async () => {
    // A new ledger epoch forgets what was delivered, so every version is written again and S3 itself must refuse it.
    const { handler, telemetry } = auditHandler({ LEDGER_EPOCH: 'rewrite-1', EPOCH_BASELINE: 'from-version-1' });
    const refusedBefore = world.s3Proxy.refused;
    const before = await world.auditObjects();

    await feedHandler(handler, feed.feeds);

    const totals = telemetry.totals();
    expect(totals.delivered).toBe(0);
    expect(totals.duplicates).toBeGreaterThanOrEqual(versionsOf(feed).length);
    expect(world.s3Proxy.refused - refusedBefore).toBe(versionsOf(feed).length);
    expect(totals.deadLettered + totals.failures).toBe(0);
    expect(await world.auditObjects()).toEqual(before);
  });

  it('sends a permanent refusal (no such bucket) to the dead-letter queue at once, with the whole record', async () => {
    const { handler, telemetry } = auditHandler({ AUDIT_BUCKET_NAME: 'no-such-bucket', LEDGER_EPOCH: 'missing-bucket' });
    const firstBatch = feed.feeds[0]?.batches[0] ?? [];

    const { gaveUp } = await feedHandler(handler, [{ shardId: 'shardId-000000000000', batches: [firstBatch] }]);

    expect(gaveUp).toEqual([]);
    const letters = await world.drainDeadLetters('audit');
    const totals = telemetry.totals();
    expect(totals.deadLettered).toBe(letters.length);
    expect(letters.length).toBeGreaterThan(0);
    for (const letter of letters) {
      expect(letter).toMatchObject({ destination: 'audit', epoch: 'missing-bucket', reason: 'REJECTED', attempts: 1 });
      expect(letter.detail).toMatch(/NoSuchBucket|404/);
      expect(letter.record?.accountId).toBe(letter.accountId);
      expect(letter.record?.version).toBe(letter.version);
    }
  });
});
