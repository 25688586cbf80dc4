import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenSearchIndex } from '../../consumers/search/opensearch-index';
import { startOpenSearchStandIn, type OpenSearchFaults, type OpenSearchStandIn } from '../../local/standins/opensearch/server';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { Delivery } from '../../shared/ordering/ports';
import { Retrier } from '../../shared/retry/retrier';
import { accountHistory } from '../support/histories';

/**
 * The search adapter against the stand-in through the real client: every way OpenSearch (or the service in front of
 * it) refuses a write, whole or per `_bulk` item, ends as OpenSearch means it. A refusal of the document is REJECTED at
 * once; everything that lifts without the document changing is retried and, when retries run out, DELIVERY_FAILED.
 */
const ATTEMPTS = 3;
const delivery = (record: ChangeRecord): Delivery => ({ record, healed: false, replay: false, epoch: 'live' });
let next = 0;
/** A fresh account's version 1, so no earlier test's document stands in the way. */
const fresh = (): Delivery => delivery(accountHistory(`acct-${(next += 1)}`, 1)[0] as ChangeRecord);
const withBalance = (balance: unknown): Delivery => {
  const record = accountHistory(`acct-${(next += 1)}`, 1)[0] as ChangeRecord;
  return delivery({ ...record, newImage: { ...record.newImage, balance } as never });
};

const SECURITY = 'no permissions for [indices:data/write/bulk[s]] and User [name=search-writer, backend_roles=[], requestedTenant=null]';
const IAM = 'User: arn:aws:sts::123456789012:assumed-role/search-consumer/fn is not authorized to perform: es:ESHttpPost';

/** Faults that must be retried: [what, faults, what the failure's detail says]. */
const TRANSIENT: [string, OpenSearchFaults, RegExp][] = [
  ['request 403 cluster_block_exception (read-only)', { writeBlockRate: 1 }, /cluster_block_exception/],
  ['request 429 rejected_execution_exception', { throttleRate: 1 }, /rejected_execution_exception/],
  ['request 429 es_rejected_execution_exception', { requestError: { status: 429, type: 'es_rejected_execution_exception', reason: 'rejected execution' } }, /es_rejected_execution_exception/],
  ['request 502 from a gateway', { requestError: { status: 502, reason: 'Bad Gateway' } }, /HTTP 502.*Bad Gateway/],
  ['request 503 (no cluster-manager)', { unavailableRate: 1 }, /HTTP 503/],
  ['request 504 from a gateway', { requestError: { status: 504, reason: 'Gateway Timeout' } }, /HTTP 504.*Gateway Timeout/],
  ['request 403 security_exception', { requestError: { status: 403, type: 'security_exception', reason: SECURITY } }, /^ACCESS DENIED.*security_exception/],
  ['request 403 IAM denial', { requestError: { status: 403, reason: IAM } }, /^ACCESS DENIED.*not authorized to perform: es:ESHttpPost/],
  ['request 401', { requestError: { status: 401, type: 'security_exception', reason: 'Missing authentication information' } }, /^ACCESS DENIED/],
  ['item 403 cluster_block_exception (index write block)', { itemWriteBlockRate: 1 }, /cluster_block_exception.*FORBIDDEN\/8/],
  ['item 429 cluster_block_exception (flood stage)', { itemFloodStageRate: 1 }, /cluster_block_exception.*flood-stage/],
  ['item 429 rejected_execution_exception', { itemThrottleRate: 1 }, /rejected_execution_exception/],
  ['item 429 es_rejected_execution_exception', { itemError: { status: 429, type: 'es_rejected_execution_exception', reason: 'rejected' } }, /es_rejected_execution_exception/],
  ['item 502', { itemError: { status: 502, type: 'exception', reason: 'bad gateway' } }, /exception: bad gateway/],
  ['item 503 unavailable_shards_exception', { itemError: { status: 503, type: 'unavailable_shards_exception', reason: 'primary shard is not active' } }, /unavailable_shards_exception/],
  ['item 504', { itemError: { status: 504, type: 'exception', reason: 'timed out' } }, /exception: timed out/],
  ['item 403 security_exception', { itemError: { status: 403, type: 'security_exception', reason: SECURITY } }, /^ACCESS DENIED.*security_exception/],
];

describe('search adapter: OpenSearch refusals, whole and per item, classified', () => {
  let standIn: OpenSearchStandIn;
  let client: Client;
  let search: OpenSearchIndex;
  const retrier = () => new Retrier({ policy: { maxAttempts: ATTEMPTS, baseDelayMs: 1, maxDelayMs: 5 } });

  beforeAll(async () => {
    standIn = await startOpenSearchStandIn();
    client = new Client({ node: standIn.endpoint, maxRetries: 0 });
    // One adapter throughout: it has seen its index, so every round below is a `_bulk` and nothing else.
    search = new OpenSearchIndex({ client, index: 'classified', retrier: retrier() });
    expect(await search.deliver([fresh()])).toEqual([{ status: 'delivered' }]);
  });
  beforeEach(() => standIn.setFaults({}));
  afterAll(async () => {
    await client?.close();
    await standIn?.stop();
  });

  it.each(TRANSIENT)('%s: retried, then DELIVERY_FAILED, never REJECTED', async (_what, faults, detail) => {
    standIn.setFaults(faults);
    const bulksBefore = standIn.stats.requests ?? 0;

    const [result] = await search.deliver([fresh()]);

    expect(result).toMatchObject({ status: 'failed', reason: 'DELIVERY_FAILED', attempts: ATTEMPTS });
    expect(result?.status === 'failed' && result.detail).toMatch(detail);
    expect((standIn.stats.requests ?? 0) - bulksBefore).toBe(ATTEMPTS);
  });

  it('delivers once an access denial is fixed within the retries', async () => {
    standIn.setFaults({ itemError: { status: 403, type: 'security_exception', reason: SECURITY, rate: 0.5 }, seed: 3 });
    const patient = new OpenSearchIndex({ client, index: 'classified', retrier: new Retrier({ policy: { maxAttempts: 20, baseDelayMs: 1, maxDelayMs: 2 } }) });
    const results = await patient.deliver([fresh(), fresh(), fresh(), fresh()]);
    expect(results).toEqual(Array.from({ length: 4 }, () => ({ status: 'delivered' })));
    expect(standIn.stats.itemScriptedErrors).toBeGreaterThan(0);
  });

  it('item 400 mapper_parsing_exception and illegal_argument_exception: REJECTED at once, the rest of the request delivered', async () => {
    const bulksBefore = standIn.stats.bulk ?? 0;
    const results = await search.deliver([fresh(), withBalance('not a number'), fresh()]);
    expect(results[0]).toEqual({ status: 'delivered' });
    expect(results[1]).toMatchObject({ status: 'failed', reason: 'REJECTED', attempts: 1 });
    expect(results[1]?.status === 'failed' && results[1].detail).toMatch(/^mapper_parsing_exception: failed to parse field \[balance\] of type \[long\]/);
    expect(results[2]).toEqual({ status: 'delivered' });
    expect((standIn.stats.bulk ?? 0) - bulksBefore).toBe(1);

    standIn.setFaults({ itemError: { status: 400, type: 'illegal_argument_exception', reason: 'bad document' } });
    const [illegal] = await search.deliver([fresh()]);
    expect(illegal).toMatchObject({ status: 'failed', reason: 'REJECTED', attempts: 1, detail: 'illegal_argument_exception: bad document' });
  });

  it('request 400: split until the item at fault is alone, so only it is REJECTED', async () => {
    standIn.setFaults({ requestError: { status: 400, type: 'illegal_argument_exception', reason: 'Malformed action/metadata line [1]' } });
    const results = await search.deliver([fresh(), fresh(), fresh()]);
    // Every request is refused here, so every item ends alone and rejected, each after one round.
    for (const result of results) expect(result).toMatchObject({ status: 'failed', reason: 'REJECTED', attempts: 1 });
    expect(results[0]?.status === 'failed' && results[0].detail).toContain('illegal_argument_exception');
  });

  it('item 409 version_conflict_engine_exception: duplicate or stale, not an error', async () => {
    const [v1, v2] = accountHistory(`acct-${(next += 1)}`, 2).map(delivery);
    expect(await search.deliver([v2 as Delivery])).toEqual([{ status: 'delivered' }]);
    expect(await search.deliver([v2 as Delivery, v1 as Delivery])).toEqual([{ status: 'duplicate' }, { status: 'stale' }]);
  });

  it('item 404 index_not_found_exception: retried, and the index is checked (and created) again before the next round', async () => {
    standIn.setFaults({ itemError: { status: 404, type: 'index_not_found_exception', reason: 'no such index [classified]' } });
    const checksBefore = standIn.stats.indexExists ?? 0;
    const [result] = await search.deliver([fresh()]);
    expect(result).toMatchObject({ status: 'failed', reason: 'DELIVERY_FAILED', attempts: ATTEMPTS });
    expect((standIn.stats.indexExists ?? 0) - checksBefore).toBe(ATTEMPTS - 1);
  });
});
