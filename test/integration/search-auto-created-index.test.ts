import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenSearchIndex } from '../../consumers/search/opensearch-index';
import { startOpenSearchStandIn, type OpenSearchStandIn } from '../../local/standins/opensearch/server';
import type { Delivery } from '../../shared/ordering/ports';
import { Retrier } from '../../shared/retry/retrier';
import { accountHistory } from '../support/histories';

/**
 * OpenSearch creates a missing index on a write (`action.auto_create_index`, on by default), with dynamic mapping. A
 * write that reached a deleted index before the adapter looked again made one where `account_id` is `text`; the
 * adapter went on filling it, unnoticed. It now fails deliveries into such an index, saying why and what to do, until
 * the index is deleted and it creates its own.
 */
describe('search adapter: an index OpenSearch created on a write', () => {
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

  const delivery = (accountId: string): Delivery => ({ record: accountHistory(accountId, 1)[0]!, healed: false, replay: false, epoch: 'live' });

  it('is refused, retried and failed with what to do; once deleted, the adapter creates its own and delivers', async () => {
    // Someone's write after the index was deleted: OpenSearch makes the index with dynamic mapping.
    await client.index({ index: 'accounts-auto', id: 'stray', body: { account_id: 'stray', balance: 1 } });
    const search = new OpenSearchIndex({ client, index: 'accounts-auto', retrier: new Retrier({ policy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }) });

    const [refused] = await search.deliver([delivery('A')]);
    expect(refused).toMatchObject({ status: 'failed', reason: 'DELIVERY_FAILED' });
    expect((refused as { detail: string }).detail).toMatch(/exists with a mapping this adapter did not create \(account_id text, dynamic true\).*delete it again/);
    expect(standIn.document('accounts-auto', 'A')).toBeUndefined();

    await client.indices.delete({ index: 'accounts-auto' });
    expect(await search.deliver([delivery('A')])).toEqual([{ status: 'delivered' }]);
    const mapping = (await client.indices.getMapping({ index: 'accounts-auto' })).body as Record<string, { mappings: { dynamic?: unknown; properties: Record<string, { type: string }> } }>;
    expect(mapping['accounts-auto']?.mappings.properties.account_id?.type).toBe('keyword');
  });

  it('takes an index it created itself, and one created with its mapping by an earlier release', async () => {
    const search = new OpenSearchIndex({ client, index: 'accounts-own' });
    expect(await search.deliver([delivery('B')])).toEqual([{ status: 'delivered' }]);
    await client.indices.create({ index: 'accounts-older', body: { mappings: { dynamic: false, properties: { account_id: { type: 'keyword' }, version: { type: 'long' } } } } });
    expect(await new OpenSearchIndex({ client, index: 'accounts-older' }).deliver([delivery('C')])).toEqual([{ status: 'delivered' }]);
  });
});
