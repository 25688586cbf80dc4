import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_INDEX_MAPPING } from '../../consumers/search/account-document';
import { OpenSearchIndex } from '../../consumers/search/opensearch-index';
import { startOpenSearchStandIn, type OpenSearchStandIn } from '../../local/standins/opensearch/server';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { Delivery } from '../../shared/ordering/ports';
import { Retrier } from '../../shared/retry/retrier';
import { accountHistory } from '../support/histories';

/**
 * The Accounts table takes any attribute name; OpenSearch does not take every field name. A document whose root holds
 * a metadata field's name (`_version`, which AppSync/Amplify conflict detection adds to every item, `_id`, `_source`,
 * ...) is refused with 400 mapper_parsing_exception, `dynamic: false` or not; so is a name that starts or ends with a
 * dot, or is only whitespace; and a dotted name stands for objects (`balance.note` is `balance` → `note`), which
 * conflicts with a mapped field. Each would make every version of every such account REJECTED.
 */
describe('OpenSearch stand-in: field names OpenSearch refuses in a document', () => {
  let standIn: OpenSearchStandIn;
  let client: Client;
  beforeAll(async () => {
    standIn = await startOpenSearchStandIn();
    client = new Client({ node: standIn.endpoint, maxRetries: 0 });
    await client.indices.create({ index: 'names', body: { mappings: ACCOUNT_INDEX_MAPPING } });
  });
  afterAll(async () => {
    await client?.close();
    await standIn?.stop();
  });

  const bulkItem = async (document: Record<string, unknown>) => {
    const body = `${JSON.stringify({ index: { _index: 'names', _id: 'a', version: 1, version_type: 'external' } })}\n${JSON.stringify(document)}\n`;
    const response = await client.bulk({ body: body as never });
    return (response.body.items[0] as { index: { status: number; error?: { type: string; reason: string; caused_by?: { reason: string } } } }).index;
  };

  it.each(['_version', '_id', '_source', '_routing', '_index', '_seq_no', '_ignored', '_field_names'])(
    'refuses a root field named %s as a metadata field, even with dynamic false',
    async (name) => {
      const item = await bulkItem({ account_id: 'a', balance: 1, [name]: 3 });
      expect(item.status).toBe(400);
      expect(item.error?.type).toBe('mapper_parsing_exception');
      expect(item.error?.reason).toBe(`Field [${name}] is a metadata field and cannot be added inside a document. Use the index API request parameters.`);
    },
  );

  it('takes a metadata field name below the root, and other underscore names at the root', async () => {
    expect((await bulkItem({ account_id: 'a', balance: 1, profile: { _version: 1 }, _deleted: false, _lastChangedAt: 5 })).status).toBe(201);
  });

  it.each(['.', '..', '.a', 'a..b', 'a. .b'])('refuses the ambiguous dotted name %j', async (name) => {
    const item = await bulkItem({ account_id: 'a', balance: 1, [name]: 1 });
    expect(item.status).toBe(400);
    expect(item.error?.type).toBe('mapper_parsing_exception');
    expect(item.error?.caused_by?.reason).toMatch(/makes object resolution ambiguous|cannot contain only (dots|whitespace)/);
  });

  it('refuses a whitespace-only name', async () => {
    const item = await bulkItem({ account_id: 'a', balance: 1, '  ': 1 });
    expect(item.status).toBe(400);
    expect(item.error?.type).toBe('mapper_parsing_exception');
  });
});

describe('search adapter: any table attribute name is indexed, never REJECTED for its name', () => {
  let standIn: OpenSearchStandIn;
  let client: Client;
  let search: OpenSearchIndex;
  beforeAll(async () => {
    standIn = await startOpenSearchStandIn();
    client = new Client({ node: standIn.endpoint, maxRetries: 0 });
    search = new OpenSearchIndex({ client, index: 'accounts-names', retrier: new Retrier({ policy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }) });
  });
  afterAll(async () => {
    await client?.close();
    await standIn?.stop();
  });

  const withAttributes = (accountId: string, attributes: Record<string, unknown>): Delivery => {
    const record = accountHistory(accountId, 1)[0] as ChangeRecord;
    return { record: { ...record, newImage: { ...record.newImage, ...attributes } as never }, healed: false, replay: false, epoch: 'live' };
  };

  it('delivers an AppSync-managed item (_version, _deleted, _lastChangedAt) and keeps those attributes in _source', async () => {
    const appsync = { _version: 7, _deleted: false, _lastChangedAt: 1_700_000_000_000, _ttl: 5 };
    expect(await search.deliver([withAttributes('appsync-1', appsync)])).toEqual([{ status: 'delivered' }]);
    const source = standIn.document('accounts-names', 'appsync-1')?.source as Record<string, unknown>;
    expect(source).toMatchObject({ account_id: 'appsync-1', version: 1 });
    expect(source.table_attributes).toEqual(appsync);
    expect(source._version).toBeUndefined();
  });

  it('delivers items whose attribute names are dotted, ambiguous or blank, and keeps them as they are', async () => {
    const odd = { 'balance.note': 'x', 'status.reason': 'y', '.': 1, 'a..b': 2, 'trailing.': 3, '  ': 4 };
    expect(await search.deliver([withAttributes('odd-1', odd), withAttributes('odd-2', { _id: 'x', _source: { a: 1 } })])).toEqual([
      { status: 'delivered' },
      { status: 'delivered' },
    ]);
    expect((standIn.document('accounts-names', 'odd-1')?.source as Record<string, unknown>).table_attributes).toEqual(odd);
    expect((standIn.document('accounts-names', 'odd-2')?.source as Record<string, unknown>).table_attributes).toEqual({ _id: 'x', _source: { a: 1 } });
  });

  it('leaves ordinary attributes at the root, where they always were', async () => {
    expect(await search.deliver([withAttributes('plain-1', { nickname: 'n', 'plain_name': 1 })])).toEqual([{ status: 'delivered' }]);
    const source = standIn.document('accounts-names', 'plain-1')?.source as Record<string, unknown>;
    expect(source).toMatchObject({ nickname: 'n', plain_name: 1 });
    expect(source.table_attributes).toBeUndefined();
  });
});
