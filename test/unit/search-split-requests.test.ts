import { ACCOUNT_INDEX_MAPPING } from '../../consumers/search/account-document';
import { Client, errors } from '@opensearch-project/opensearch';
import { describe, expect, it } from 'vitest';
import { OpenSearchIndex } from '../../consumers/search/opensearch-index';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { Delivery } from '../../shared/ordering/ports';
import { Retrier } from '../../shared/retry/retrier';
import { accountHistory } from '../support/histories';

/**
 * OpenSearch validates every item of a `_bulk` before running any and refuses the whole request (400
 * action_request_validation_exception) for one invalid item. The stand-in is faithful to that, but the adapter leaves
 * out the one invalid item it knows of (a long `_id`), so a client that refuses a marked item stands in for the rest.
 */
const validationFailure = (id: string) => {
  const reason = `Validation Failed: 1: something about [${id}] is invalid;`;
  const body = { error: { root_cause: [{ type: 'action_request_validation_exception', reason }], type: 'action_request_validation_exception', reason }, status: 400 };
  return new errors.ResponseError({ body, statusCode: 400, headers: {}, warnings: null, meta: {} } as never);
};
const abortable = <T>(promise: Promise<T>) => Object.assign(promise, { abort: () => undefined });

function refusingClient(poison: string): { client: Client; sent: string[][] } {
  const sent: string[][] = [];
  const client = {
    transport: { requestTimeout: 0 },
    indices: {
      exists: () => abortable(Promise.resolve({ body: true })),
      // The index as the adapter creates it: its own mapping, so it is taken as its own.
      get: () => abortable(Promise.resolve({ body: { accounts: { mappings: ACCOUNT_INDEX_MAPPING } } })),
    },
    bulk: ({ body }: { body: string }) => {
      const actions = body.split('\n').filter((line) => line.startsWith('{"index"')).map((line) => JSON.parse(line).index._id as string);
      sent.push(actions);
      if (actions.includes(poison)) return abortable(Promise.reject(validationFailure(poison)));
      return abortable(Promise.resolve({ body: { errors: false, items: actions.map(() => ({ index: { status: 201, result: 'created' } })) } }));
    },
  };
  return { client: client as unknown as Client, sent };
}

const delivery = (accountId: string): Delivery => ({
  record: accountHistory(accountId, 1)[0] as ChangeRecord,
  healed: false,
  replay: false,
  epoch: 'live',
});

describe('search adapter: a _bulk refused as a whole for one item', () => {
  it('halves the request until the item at fault is alone: it alone is REJECTED, the others are delivered', async () => {
    const ids = ['a', 'b', 'c', 'poison', 'e', 'f', 'g', 'h'];
    const { client, sent } = refusingClient('poison');
    const search = new OpenSearchIndex({ client, index: 'accounts', retrier: new Retrier({ policy: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } }) });

    const results = await search.deliver(ids.map(delivery));

    expect(results.map((result) => result.status)).toEqual(['delivered', 'delivered', 'delivered', 'failed', 'delivered', 'delivered', 'delivered', 'delivered']);
    expect(results[3]).toMatchObject({ reason: 'REJECTED', attempts: 1 });
    expect(results[3]?.status === 'failed' && results[3].detail).toContain('action_request_validation_exception');
    // 8, then its halves (the first refused: 2 + 2, the second of those refused: 1 + 1), then the other 4: two requests
    // per halving on the way to the item at fault, not one per item.
    expect(sent.map((request) => request.length)).toEqual([8, 4, 2, 2, 1, 1, 4]);
  });
});

/** The cluster's answer to creating an index past its shard limit (ShardLimitValidator): a 400 about the cluster. */
const SHARD_LIMIT = 'Validation Failed: 1: this action would add [2] total shards, but this cluster currently has [1000]/[1000] maximum shards open;';

describe('search adapter: an index the cluster will not create', () => {
  it('retries the documents and gives up with DELIVERY_FAILED, never REJECTED: creating the index sends no document', async () => {
    let bulks = 0;
    const client = {
      transport: { requestTimeout: 0 },
      indices: {
        exists: () => abortable(Promise.resolve({ body: false })),
        create: () => {
          const body = { error: { root_cause: [{ type: 'validation_exception', reason: SHARD_LIMIT }], type: 'validation_exception', reason: SHARD_LIMIT }, status: 400 };
          return abortable(Promise.reject(new errors.ResponseError({ body, statusCode: 400, headers: {}, warnings: null, meta: {} } as never)));
        },
      },
      bulk: () => {
        bulks += 1;
        return abortable(Promise.resolve({ body: { errors: false, items: [{ index: { status: 201, result: 'created' } }] } }));
      },
    } as unknown as Client;
    const search = new OpenSearchIndex({ client, index: 'accounts', retrier: new Retrier({ policy: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 } }) });

    const [result] = await search.deliver([delivery('a')]);

    // Before, the 400 made every waiting document REJECTED at its first attempt, as if it were the document's fault.
    expect(bulks).toBe(0);
    expect(result).toMatchObject({ status: 'failed', reason: 'DELIVERY_FAILED', attempts: 3 });
    expect(result?.status === 'failed' && result.detail).toContain('index accounts: ResponseError (HTTP 400)');
  });
});
