import { ACCOUNT_INDEX_MAPPING } from '../../consumers/search/account-document';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentId } from '../../consumers/search/bulk-body';
import { createSearchRuntime } from '../../consumers/search/handler';
import type { ChangeFeed } from '../../local/change-feed';
import { sequenceNumber } from '../../local/bridge/chaos';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import type { BuiltRuntime } from '../../shared/consumer/runtime';
import { startConsumerWorld, type ConsumerWorld } from '../support/consumer-world';
import { feedHandler, RecordingTelemetry } from '../support/feed-handler';
import { chaoticFeed } from '../support/feeds';
import { kdsRecord } from '../support/kds-payload';

describe('search consumer: Kinesis events → OpenSearch, latest state per account', () => {
  let world: ConsumerWorld;
  let feed: ChangeFeed;
  let reader: Client;
  const runtimes: BuiltRuntime[] = [];

  const searchHandler = (overrides: Record<string, string> = {}) => {
    const telemetry = new RecordingTelemetry();
    const runtime = createSearchRuntime(world.env('search', overrides), { telemetry });
    runtimes.push(runtime);
    return { handler: createKinesisHandler(() => runtime), telemetry };
  };

  const indexed = async (index = world.index) => {
    const response = await reader.search({ index, body: { query: { match_all: {} }, size: 1_000 }, version: true });
    const hits = response.body.hits.hits as { _id: string; _version?: number; _source: Record<string, unknown> }[];
    return new Map(hits.map((hit) => [hit._id, { version: hit._version, source: hit._source }]));
  };

  beforeAll(async () => {
    world = await startConsumerWorld('search');
    feed = await chaoticFeed(world);
    reader = new Client({ node: world.openSearch.endpoint });
  });
  afterAll(async () => {
    for (const runtime of runtimes) runtime.close();
    await reader?.close();
    await world?.stop();
  });

  it('creates the index with its mapping and holds the latest version of every account', async () => {
    const { handler, telemetry } = searchHandler();

    const { gaveUp } = await feedHandler(handler, feed.feeds);

    expect(gaveUp).toEqual([]);
    const mapping = await reader.indices.getMapping({ index: world.index });
    expect(mapping.body[world.index]?.mappings?.properties?.version).toEqual({ type: 'long' });
    const documents = await indexed();
    expect(documents.size).toBe(feed.truth.finalVersions.size);
    for (const [accountId, final] of feed.truth.finalVersions) {
      const document = documents.get(accountId);
      expect(document?.version, accountId).toBe(final);
      expect(document?.source).toMatchObject({ account_id: accountId, version: final, balance: feed.truth.history.get(accountId)?.get(final) });
    }
    const totals = telemetry.totals();
    expect(totals.deadLettered + totals.failures).toBe(0);
    expect(totals.duplicates + totals.stale).toBeGreaterThan(0);
  });

  it('finds an account by term through the real client', async () => {
    const [accountId] = [...feed.truth.finalVersions.keys()];
    const response = await reader.search({ index: world.index, body: { query: { term: { account_id: accountId as string } } } });
    expect(response.body.hits.hits.map((hit: { _id?: string }) => hit._id)).toEqual([accountId]);
  });

  it('lets OpenSearch refuse what is not newer: 409s count as stale or duplicate, never as errors', async () => {
    // A fresh epoch forgets the watermarks: the engine sends again and only external versioning stands in the way.
    const { handler, telemetry } = searchHandler({ LEDGER_EPOCH: 'resend-1' });
    const before = await indexed();
    const conflictsBefore = world.openSearch.stats.conflicts ?? 0;

    await feedHandler(handler, feed.feeds);

    const totals = telemetry.totals();
    expect(totals.delivered).toBe(0);
    expect(totals.stale).toBeGreaterThan(0);
    expect(totals.duplicates).toBeGreaterThanOrEqual(feed.truth.finalVersions.size);
    expect((world.openSearch.stats.conflicts ?? 0) - conflictsBefore).toBeGreaterThan(0);
    expect(totals.deadLettered + totals.failures).toBe(0);
    expect(await indexed()).toEqual(before);
  });

  it('deletes on REMOVE with the external version, and a late older version cannot bring the account back', async () => {
    const [accountId, final] = [...feed.truth.finalVersions][0] as [string, number];
    const { source } = (await indexed()).get(accountId) as { source: Record<string, unknown> };
    const oldImage = { account_id: accountId, balance: source.balance as number, version: final, currency: 'AUD', status: 'OPEN' };
    const remove = kdsRecord({ kind: 'REMOVE', oldImage, tableName: world.accountsTable }, { sequenceNumber: sequenceNumber(9, 1) });
    const late = kdsRecord(
      { kind: 'MODIFY', oldImage: { ...oldImage, version: final - 1 }, newImage: oldImage, tableName: world.accountsTable },
      { sequenceNumber: sequenceNumber(9, 1) },
    );
    const { handler, telemetry } = searchHandler({ LEDGER_EPOCH: 'remove-1' });

    await feedHandler(handler, [{ shardId: 'shardId-000000000009', batches: [[remove]] }]);
    expect((await indexed()).has(accountId)).toBe(false);
    expect(telemetry.totals().delivered).toBe(1);

    const second = searchHandler({ LEDGER_EPOCH: 'remove-2' });
    await feedHandler(second.handler, [{ shardId: 'shardId-000000000009', batches: [[late]] }]);
    expect((await indexed()).has(accountId)).toBe(false);
    expect(second.telemetry.totals().stale).toBe(1);
  });

  it('signs its requests with SigV4 when SEARCH_AUTH is sigv4 (the AWS default)', async () => {
    const signedBefore = world.openSearch.stats.signed ?? 0;
    const { handler, telemetry } = searchHandler({ SEARCH_AUTH: 'sigv4', LEDGER_EPOCH: 'signed-1' });

    await feedHandler(handler, [{ shardId: 'shardId-000000000000', batches: [feed.feeds[0]?.batches[0] ?? []] }]);

    expect((world.openSearch.stats.signed ?? 0) - signedBefore).toBeGreaterThan(0);
    expect(telemetry.totals().deadLettered + telemetry.totals().failures).toBe(0);
  });

  it('splits _bulk requests at SEARCH_MAX_BULK_BYTES, and indexes an account whose id is too long for an _id under a bounded one', async () => {
    const longId = `01LONG${'X'.repeat(600)}`;
    const ids = [...Array.from({ length: 9 }, (_, i) => `01SPLIT${i}`), longId];
    const records = ids.map((accountId, i) =>
      kdsRecord(
        { kind: 'INSERT', newImage: { account_id: accountId, balance: 100, version: 1, currency: 'AUD', status: 'OPEN', notes: 'n'.repeat(3_000) }, tableName: world.accountsTable },
        { sequenceNumber: sequenceNumber(8, i + 1), shardId: 'shardId-000000000008' },
      ),
    );
    const bulksBefore = world.openSearch.stats.bulk ?? 0;
    const { handler, telemetry } = searchHandler({ SEARCH_MAX_BULK_BYTES: '8192', LEDGER_EPOCH: 'split-1' });

    const { gaveUp } = await feedHandler(handler, [{ shardId: 'shardId-000000000008', batches: [records] }]);

    expect(gaveUp).toEqual([]);
    const documents = await indexed();
    for (const accountId of ids) expect(documents.get(documentId(accountId))?.version, accountId).toBe(1);
    // About 3.3 KB a document: two to a request of at most 8 KiB.
    expect((world.openSearch.stats.bulk ?? 0) - bulksBefore).toBeGreaterThanOrEqual(5);
    expect(world.openSearch.stats.tooLarge).toBe(0);
    expect(await world.drainDeadLetters('search')).toEqual([]);
    expect(documentId(longId)).not.toBe(longId);
    expect(telemetry.totals()).toMatchObject({ delivered: 10, deadLettered: 0 });
  });

  it('sends a mapping conflict to the dead-letter queue at once as REJECTED', async () => {
    const index = `${world.index}-conflicting`;
    // The adapter's own mapping but for `status`, so the index is taken as its own and each document is refused.
    await reader.indices.create({ index, body: { mappings: { ...ACCOUNT_INDEX_MAPPING, properties: { ...ACCOUNT_INDEX_MAPPING.properties, status: { type: 'long' } } } } });
    const { handler, telemetry } = searchHandler({ SEARCH_INDEX: index, LEDGER_EPOCH: 'conflict-1' });
    const batch = feed.feeds[0]?.batches[0] ?? [];

    const { gaveUp } = await feedHandler(handler, [{ shardId: 'shardId-000000000000', batches: [batch] }]);

    expect(gaveUp).toEqual([]);
    const letters = await world.drainDeadLetters('search');
    expect(letters.length).toBeGreaterThan(0);
    expect(letters.length).toBe(telemetry.totals().deadLettered);
    for (const letter of letters) {
      expect(letter).toMatchObject({ destination: 'search', reason: 'REJECTED', attempts: 1 });
      expect(letter.detail).toContain('mapper_parsing_exception');
      expect(letter.record?.version).toBe(letter.version);
    }
  });
});
