import { gzipSync } from 'node:zlib';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BULK_BYTES, documentId } from '../../consumers/search/bulk-body';
import { OpenSearchIndex } from '../../consumers/search/opensearch-index';
import { startOpenSearchStandIn, type OpenSearchStandIn } from '../../local/standins/opensearch/server';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { Delivery } from '../../shared/ordering/ports';
import { Retrier } from '../../shared/retry/retrier';
import { accountHistory } from '../support/histories';

const MiB = 1024 * 1024;
const quick = () => new Retrier({ policy: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
/** Version 1 of `accountId`, its document padded with `padding` characters (an attribute the mapping does not index). */
const account = (accountId: string, padding = 0): Delivery => {
  const record = accountHistory(accountId, 1)[0] as ChangeRecord;
  const newImage = { ...record.newImage, ...(padding > 0 ? { notes: 'n'.repeat(padding) } : {}) } as ChangeRecord['newImage'];
  return { record: { ...record, newImage }, healed: false, replay: false, epoch: 'live' };
};

/** POSTs a raw `_bulk` body (what a client that does not split would send). */
async function rawBulk(endpoint: string, body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${endpoint}/_bulk`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson', ...headers } });
  return { status: response.status, body: await response.json() };
}

/** One index action whose NDJSON is exactly `bytes` long. */
function bulkOfExactly(bytes: number, id: string): Buffer {
  const head = `{"index":{"_index":"limits-raw","_id":"${id}"}}\n{"pad":"`;
  const tail = '"}\n';
  return Buffer.from(`${head}${'p'.repeat(bytes - head.length - tail.length)}${tail}`, 'utf8');
}

describe('OpenSearch stand-in: the request body limit', () => {
  let standIn: OpenSearchStandIn;
  beforeAll(async () => {
    standIn = await startOpenSearchStandIn();
  });
  afterAll(() => standIn?.stop());

  it('accepts a body of exactly 10 MiB and answers one byte more 413 as Amazon OpenSearch Service does, applying nothing', async () => {
    const atLimit = await rawBulk(standIn.endpoint, bulkOfExactly(10 * MiB, 'fits'));
    expect(atLimit.status).toBe(200);

    const over = await rawBulk(standIn.endpoint, bulkOfExactly(10 * MiB + 1, 'over'));
    expect(over).toEqual({ status: 413, body: { Message: 'Request size exceeded 10485760 bytes' } });
    expect(standIn.document('limits-raw', 'over')).toBeUndefined();
    expect(standIn.stats).toMatchObject({ tooLarge: 1, largestRequestBytes: 10 * MiB + 1 });
  });

  it('counts the decompressed size too: a gzip body that inflates past the limit is 413', async () => {
    const small = gzipSync(bulkOfExactly(10 * MiB + 100, 'zipped'));
    expect(small.length).toBeLessThan(MiB);
    const answer = await rawBulk(standIn.endpoint, small, { 'content-encoding': 'gzip' });
    expect(answer.status).toBe(413);
    expect(standIn.document('limits-raw', 'zipped')).toBeUndefined();
  });

  it('takes its limit from maxContentLength and refuses a nonsense one', async () => {
    const tiny = await startOpenSearchStandIn({ maxContentLength: 1_000 });
    try {
      expect((await rawBulk(tiny.endpoint, bulkOfExactly(1_000, 'a'))).status).toBe(200);
      expect(await rawBulk(tiny.endpoint, bulkOfExactly(1_001, 'b'))).toEqual({ status: 413, body: { Message: 'Request size exceeded 1000 bytes' } });
    } finally {
      await tiny.stop();
    }
    await expect(startOpenSearchStandIn({ maxContentLength: 0 })).rejects.toThrow(RangeError);
  });
});

describe('search adapter: _bulk requests split under the body limit', () => {
  let standIn: OpenSearchStandIn;
  let client: Client;
  beforeAll(async () => {
    standIn = await startOpenSearchStandIn();
    client = new Client({ node: standIn.endpoint, maxRetries: 0 });
  });
  afterAll(async () => {
    await client?.close();
    await standIn?.stop();
  });

  it('delivers a batch of more than 10 MiB in several requests at the defaults, none of them over the limit', async () => {
    const deliveries = Array.from({ length: 24 }, (_, i) => account(`big-${String(i).padStart(2, '0')}`, 450_000));
    const search = new OpenSearchIndex({ client, index: 'limits', retrier: quick() });

    const results = await search.deliver(deliveries);

    expect(results).toEqual(deliveries.map(() => ({ status: 'delivered' })));
    expect(standIn.documents('limits')).toHaveLength(24);
    expect(standIn.stats.bulk).toBeGreaterThanOrEqual(3); // 24 × ~450 KB in requests of at most 5 MiB
    expect(standIn.stats.tooLarge).toBe(0);
    expect(standIn.stats.largestRequestBytes).toBeLessThanOrEqual(DEFAULT_MAX_BULK_BYTES);
    expect(DEFAULT_MAX_BULK_BYTES).toBeLessThan(10 * MiB);
  });

  it('rejects the one document no request can carry and delivers the others, in as few requests as fit', async () => {
    const search = new OpenSearchIndex({ client, index: 'limits-small', maxBulkBytes: 64 * 1024, retrier: quick() });
    const bulksBefore = standIn.stats.bulk ?? 0;

    const results = await search.deliver([account('small-1', 1_000), account('huge', 100_000), account('small-2', 1_000)]);

    expect(results[0]).toEqual({ status: 'delivered' });
    expect(results[1]).toMatchObject({ status: 'failed', reason: 'REJECTED', attempts: 1 });
    expect(results[1]?.status === 'failed' && results[1].detail).toMatch(/^document of 1\d{5} bytes \(with its action line\) exceeds the _bulk request limit of 65536 bytes/);
    expect(results[2]).toEqual({ status: 'delivered' });
    expect((standIn.stats.bulk ?? 0) - bulksBefore).toBe(1);
    expect(standIn.document('limits-small', 'huge')).toBeUndefined();
  });

  it('indexes an account whose id is over 512 bytes under a bounded _id, in the same request as the rest', async () => {
    const search = new OpenSearchIndex({ client, index: 'limits-ids', retrier: quick() });
    const longId = `acct-${'x'.repeat(600)}`;
    const bulksBefore = standIn.stats.bulk ?? 0;

    const results = await search.deliver([account('short-1'), account(longId), account('short-2')]);

    expect(results).toEqual([{ status: 'delivered' }, { status: 'delivered' }, { status: 'delivered' }]);
    // One `_bulk`: OpenSearch answers a whole-request 400 for an _id over 512 bytes, and none was sent.
    expect((standIn.stats.bulk ?? 0) - bulksBefore).toBe(1);
    expect(standIn.documents('limits-ids').map((document) => document.id).sort()).toEqual([documentId(longId), 'short-1', 'short-2'].sort());
    expect(standIn.document('limits-ids', documentId(longId))).toBeDefined();
  });
});

describe('search adapter: a cluster whose limit is below the adapter\'s', () => {
  let standIn: OpenSearchStandIn;
  let client: Client;
  beforeAll(async () => {
    standIn = await startOpenSearchStandIn({ maxContentLength: 32 * 1024 });
    client = new Client({ node: standIn.endpoint, maxRetries: 0 });
  });
  afterAll(async () => {
    await client?.close();
    await standIn?.stop();
  });

  it('halves a request answered 413 until it fits, and rejects only a document that alone is too large', async () => {
    const search = new OpenSearchIndex({ client, index: 'tight', maxBulkBytes: MiB, retrier: quick() });
    const deliveries = Array.from({ length: 20 }, (_, i) => account(`fit-${String(i).padStart(2, '0')}`, 4_000));

    const results = await search.deliver([...deliveries, account('alone-too-large', 40_000)]);

    expect(results.slice(0, 20)).toEqual(deliveries.map(() => ({ status: 'delivered' })));
    expect(results[20]).toMatchObject({ status: 'failed', reason: 'REJECTED', attempts: 1 });
    expect(results[20]?.status === 'failed' && results[20].detail).toMatch(/as too large: .*HTTP 413.*Request size exceeded 32768 bytes/);
    expect(standIn.documents('tight')).toHaveLength(20);
    expect(standIn.stats.tooLarge).toBeGreaterThan(0);
  });
});
