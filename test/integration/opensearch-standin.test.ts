import { Client, errors } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenSearchStandIn, type OpenSearchStandIn } from '../../local/standins/opensearch/server';
import { searchRuntime } from '../../consumers/search/runtime';

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

type BulkItem = Record<string, { _id: string; status: number; result?: string; _version?: number; error?: { type: string; reason: string } }>;

/** Sends NDJSON-able operations through the client and returns the items, one per action. */
async function bulk(operations: object[], index?: string): Promise<{ errors: boolean; items: BulkItem[] }> {
  const response = await client.bulk({ ...(index ? { index } : {}), body: operations });
  expect(response.statusCode).toBe(200);
  return response.body as unknown as { errors: boolean; items: BulkItem[] };
}

function only(item: BulkItem | undefined): { _id: string; status: number; result?: string; _version?: number; error?: { type: string; reason: string } } {
  const values = Object.values(item ?? {});
  expect(values).toHaveLength(1);
  return values[0]!;
}

/** The ResponseError a call fails with. */
async function responseError(call: Promise<unknown>): Promise<InstanceType<typeof errors.ResponseError>> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(errors.ResponseError);
  return error as InstanceType<typeof errors.ResponseError>;
}

describe('OpenSearch stand-in', () => {
  it("reads a document whose id is a dot segment ('.', '..') at its own path, as OpenSearch's HTTP layer does", async () => {
    await bulk([{ index: { _index: 'dots', _id: '.', version: 3, version_type: 'external' } }, { n: 1 }, { index: { _index: 'dots', _id: '..', version: 4, version_type: 'external' } }, { n: 2 }]);
    for (const [id, version] of [['.', 3], ['..', 4]] as const) {
      const response = await client.get({ index: 'dots', id, _source: false });
      expect(response.body).toMatchObject({ _id: id, _version: version, found: true });
    }
    const reader = searchRuntime.reconcileReader!({ endpoint: standIn.endpoint, index: 'dots', auth: 'none' } as never, { region: 'us-east-1' } as never);
    expect(await reader.read({ accountId: '..', version: 4 } as never)).toBe(4);
    reader.close();
  });

  it('answers cluster info as an OpenSearch 2.x distribution', async () => {
    const { body } = await client.info();
    expect(body.version.distribution).toBe('opensearch');
    expect(body.version.number).toMatch(/^2\./);
    expect(body.tagline).toContain('OpenSearch');
  });

  it('creates an index with its mapping, reports it exists, and refuses to create it twice', async () => {
    const created = await client.indices.create({
      index: 'accounts',
      body: { mappings: { properties: { accountId: { type: 'keyword' }, balance: { type: 'long' } } } },
    });
    expect(created.body).toEqual({ acknowledged: true, shards_acknowledged: true, index: 'accounts' });
    expect((await client.indices.exists({ index: 'accounts' })).body).toBe(true);
    expect((await client.indices.exists({ index: 'no-such-index' })).body).toBe(false);

    const mapping = await client.indices.getMapping({ index: 'accounts' });
    expect(mapping.body.accounts?.mappings.properties?.balance).toEqual({ type: 'long' });

    const again = await responseError(client.indices.create({ index: 'accounts' }));
    expect(again.statusCode).toBe(400);
    expect(again.body.error.type).toBe('resource_already_exists_exception');
    expect(again.body.error.root_cause[0].type).toBe('resource_already_exists_exception');
    expect(again.body.status).toBe(400);
  });

  it('applies external versions in _bulk: newer wins, stale and equal are 409 in OpenSearch words', async () => {
    const first = await bulk([
      { index: { _index: 'ext', _id: 'a', version: 5, version_type: 'external' } }, { v: 5 },
      { index: { _index: 'ext', _id: 'a', version: 7, version_type: 'external' } }, { v: 7 },
      { index: { _index: 'ext', _id: 'a', version: 6, version_type: 'external' } }, { v: 6 },
      { index: { _index: 'ext', _id: 'a', version: 7, version_type: 'external_gt' } }, { v: 77 },
      { index: { _index: 'ext', _id: 'b', version: 3, version_type: 'external' } }, { v: 3 },
    ]);
    expect(first.errors).toBe(true);
    const [created, updated, stale, equal, other] = first.items.map(only);
    expect(created).toMatchObject({ _id: 'a', status: 201, result: 'created', _version: 5 });
    expect(updated).toMatchObject({ _id: 'a', status: 200, result: 'updated', _version: 7 });
    expect(stale?.status).toBe(409);
    expect(stale?.error?.type).toBe('version_conflict_engine_exception');
    expect(stale?.error?.reason).toBe('[a]: version conflict, current version [7] is higher or equal to the one provided [6]');
    expect(equal?.status).toBe(409);
    expect(equal?.error?.reason).toBe('[a]: version conflict, current version [7] is higher or equal to the one provided [7]');
    expect(other).toMatchObject({ _id: 'b', status: 201, _version: 3 }); // a failed item does not affect others
    expect(standIn.document('ext', 'a')).toMatchObject({ version: 7, source: { v: 7 } });

    const gte = await bulk([{ index: { _index: 'ext', _id: 'a', version: 7, version_type: 'external_gte' } }, { v: 70 }]);
    expect(only(gte.items[0])).toMatchObject({ status: 200, result: 'updated', _version: 7 });
  });

  it('deletes with external versions and remembers the deleted version in a tombstone', async () => {
    await bulk([
      { index: { _index: 'tomb', _id: 'x', version: 10, version_type: 'external' } }, { n: 1 },
      { index: { _index: 'tomb', _id: 'y', version: 10, version_type: 'external' } }, { n: 2 },
    ]);
    const result = await bulk([
      { delete: { _index: 'tomb', _id: 'x', version: 11, version_type: 'external' } },
      { delete: { _index: 'tomb', _id: 'y', version: 4, version_type: 'external' } },
      { delete: { _index: 'tomb', _id: 'z', version: 20, version_type: 'external' } },
      { index: { _index: 'tomb', _id: 'x', version: 9, version_type: 'external' } }, { n: 3 },
      { index: { _index: 'tomb', _id: 'z', version: 15, version_type: 'external' } }, { n: 4 },
      { index: { _index: 'tomb', _id: 'z', version: 21, version_type: 'external' } }, { n: 5 },
    ]);
    const [deleted, olderDelete, notFound, refusedX, refusedZ, createdZ] = result.items.map(only);
    expect(deleted).toMatchObject({ _id: 'x', status: 200, result: 'deleted', _version: 11 });
    expect(olderDelete?.status).toBe(409);
    expect(olderDelete?.error?.reason).toBe('[y]: version conflict, current version [10] is higher or equal to the one provided [4]');
    expect(notFound).toMatchObject({ _id: 'z', status: 404, result: 'not_found', _version: 20 });
    expect(refusedX?.error?.reason).toBe('[x]: version conflict, current version [11] is higher or equal to the one provided [9]');
    expect(refusedZ?.error?.reason).toBe('[z]: version conflict, current version [20] is higher or equal to the one provided [15]');
    expect(createdZ).toMatchObject({ _id: 'z', status: 201, result: 'created', _version: 21 });
    expect(standIn.document('tomb', 'x')).toBeUndefined();
    expect(standIn.documents('tomb').map((d) => [d.id, d.version])).toEqual([['y', 10], ['z', 21]]);
  });

  it('forgets tombstones after index.gc_deletes', async () => {
    await client.indices.create({ index: 'short-gc', body: { settings: { index: { gc_deletes: '30ms' } } } });
    await bulk([
      { index: { _index: 'short-gc', _id: 'k', version: 10, version_type: 'external' } }, { n: 1 },
      { delete: { _index: 'short-gc', _id: 'k', version: 11, version_type: 'external' } },
      { index: { _index: 'short-gc', _id: 'k', version: 5, version_type: 'external' } }, { n: 3 },
    ]).then((r) => expect(only(r.items[2]).status).toBe(409));
    await new Promise((resolve) => setTimeout(resolve, 60));
    const later = await bulk([{ index: { _index: 'short-gc', _id: 'k', version: 5, version_type: 'external' } }, { n: 2 }]);
    expect(only(later.items[0])).toMatchObject({ status: 201, result: 'created', _version: 5 });
  });

  it('refuses invalid versioning for the whole bulk request, as OpenSearch validates it', async () => {
    const create = await responseError(client.bulk({ body: [{ create: { _index: 'ext', _id: 'c', version: 3, version_type: 'external' } }, { n: 1 }] }));
    expect(create.statusCode).toBe(400);
    expect(create.body.error.type).toBe('action_request_validation_exception');
    expect(create.body.error.reason).toBe('Validation Failed: 1: create operations only support internal versioning. use index instead;');
    const missing = await responseError(client.bulk({ body: [{ index: { _index: 'ext', _id: 'c', version_type: 'external' } }, { n: 1 }] }));
    expect(missing.body.error.reason).toBe('Validation Failed: 1: illegal version value [-3] for version type [EXTERNAL];');
    expect(standIn.document('ext', 'c')).toBeUndefined();
  });

  // BulkRequest#validate gathers every item's validation errors, so OpenSearch refuses the whole `_bulk` for one long
  // `_id` (elastic/elasticsearch#54549; OpenSearch#8039 extended the check to updates and left deletes out).
  it('refuses a whole _bulk for an index or update _id over 512 bytes, and lets a delete of one through', async () => {
    const long = 'é'.repeat(257); // 514 bytes
    const refused = await responseError(client.bulk({
      body: [{ index: { _index: 'ids', _id: 'fine' } }, { n: 1 }, { index: { _index: 'ids', _id: long } }, { n: 2 }],
    }));
    expect(refused.statusCode).toBe(400);
    expect(refused.body.error).toMatchObject({
      type: 'action_request_validation_exception',
      reason: `Validation Failed: 1: id [${long}] is too long, must be no longer than 512 bytes but was: 514;`,
    });
    expect(standIn.document('ids', 'fine')).toBeUndefined();
    const update = await responseError(client.bulk({ body: [{ update: { _index: 'ids', _id: long } }, { doc: { n: 1 }, doc_as_upsert: true }] }));
    expect(update.body.error.reason).toContain('is too long, must be no longer than 512 bytes but was: 514');
    const deleted = await bulk([{ delete: { _index: 'ids', _id: long, version: 3, version_type: 'external' } }]);
    expect(only(deleted.items[0])).toMatchObject({ status: 404, result: 'not_found', _version: 3 });
  });

  it('keeps a tombstone for the default index.gc_deletes of 60 s, by the cluster clock', async () => {
    let now = 1_800_000_000_000;
    const clocked = await startOpenSearchStandIn({ clock: () => now });
    const writer = new Client({ node: clocked.endpoint, maxRetries: 0 });
    const write = async (operation: object, source?: object) =>
      only(((await writer.bulk({ body: source ? [operation, source] : [operation] })).body as unknown as { items: BulkItem[] }).items[0]);
    try {
      await write({ index: { _index: 'gc', _id: 'k', version: 4, version_type: 'external' } }, { v: 4 });
      await write({ delete: { _index: 'gc', _id: 'k', version: 5, version_type: 'external' } });
      now += 59_999;
      const refused = await write({ index: { _index: 'gc', _id: 'k', version: 3, version_type: 'external' } }, { v: 3 });
      expect(refused.error?.reason).toBe('[k]: version conflict, current version [5] is higher or equal to the one provided [3]');
      now += 1;
      const accepted = await write({ index: { _index: 'gc', _id: 'k', version: 3, version_type: 'external' } }, { v: 3 });
      expect(accepted).toMatchObject({ status: 201, result: 'created', _version: 3 });
    } finally {
      await writer.close();
      await clocked.stop();
    }
  });

  it('rejects malformed NDJSON with OpenSearch refusals', async () => {
    const noNewline = await responseError(client.transport.request({ method: 'POST', path: '/_bulk', body: '{"index":{"_index":"ext"}}\n{"a":1}' }));
    expect(noNewline.body.error).toMatchObject({ type: 'illegal_argument_exception', reason: 'The bulk request must be terminated by a newline [\\n]' });
    const unknown = await responseError(client.transport.request({ method: 'POST', path: '/_bulk', bulkBody: '{"upsert":{"_index":"ext"}}\n{"a":1}\n' }));
    expect(unknown.body.error.reason).toBe('Malformed action/metadata line [1], expected field [create], [delete], [index] or [update] but found [upsert]');
    const broken = await responseError(client.transport.request({ method: 'POST', path: '/_bulk', bulkBody: '{"index":\n{"a":1}\n' }));
    expect(broken.statusCode).toBe(400);
    expect(broken.body.error.type).toBe('json_parse_exception');
  });

  it('gets documents with version, seq_no and source', async () => {
    const indexed = await client.index({ index: 'docs', id: 'd1', body: { name: 'Ada Lovelace' }, refresh: true });
    expect(indexed.statusCode).toBe(201);
    expect(indexed.body).toMatchObject({ _index: 'docs', _id: 'd1', _version: 1, result: 'created', _primary_term: 1 });
    await client.index({ index: 'docs', id: 'd1', body: { name: 'Ada King' } });
    const { body } = await client.get({ index: 'docs', id: 'd1' });
    expect(body).toMatchObject({ _index: 'docs', _id: 'd1', found: true, _version: 2, _primary_term: 1, _source: { name: 'Ada King' } });
    expect(typeof body._seq_no).toBe('number');
    const missing = await client.get({ index: 'docs', id: 'nope' }, { ignore: [404] });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toEqual({ _index: 'docs', _id: 'nope', found: false });
    const noIndex = await responseError(client.get({ index: 'no-such-index', id: 'x' }));
    expect(noIndex.body.error.type).toBe('index_not_found_exception');
  });

  it('searches by term and counts', async () => {
    await client.indices.create({ index: 'people', body: { mappings: { properties: { team: { type: 'keyword' }, age: { type: 'integer' } } } } });
    await bulk([
      { index: { _id: 'p1' } }, { team: 'red', age: 30, city: 'Lyon' },
      { index: { _id: 'p2' } }, { team: 'blue', age: 25, city: 'Paris' },
      { index: { _id: 'p3' } }, { team: 'red', age: 41, city: 'Paris' },
    ], 'people');
    const red = await client.search({ index: 'people', body: { query: { term: { team: 'red' } }, sort: [{ age: 'desc' }], version: true } });
    expect(red.body.hits.total).toEqual({ value: 2, relation: 'eq' });
    expect(red.body.hits.hits.map((h) => [h._id, h._version, h._source?.age])).toEqual([['p3', 1, 41], ['p1', 1, 30]]);
    // Dynamically mapped strings are text with a keyword sub-field: `term` on the text field sees analysed tokens.
    const paris = await client.search({ index: 'people', body: { query: { bool: { filter: [{ term: { 'city.keyword': 'Paris' } }] } } } });
    expect(paris.body.hits.hits.map((h) => h._id).sort()).toEqual(['p2', 'p3']);
    const analysed = await client.search({ index: 'people', body: { query: { term: { city: { value: 'Paris' } } } } });
    expect(analysed.body.hits.total).toEqual({ value: 0, relation: 'eq' });
    const terms = await client.search({ index: 'people', body: { query: { terms: { team: ['blue'] } }, size: 1 } });
    expect(terms.body.hits.hits.map((h) => h._id)).toEqual(['p2']);
    const counted = await client.count({ index: 'people', body: { query: { term: { team: 'red' } } } });
    expect(counted.body.count).toBe(2);
    expect((await client.count({ index: 'people' })).body.count).toBe(3);
  });

  it('checks documents against the mapping, item by item', async () => {
    await client.indices.create({
      index: 'typed',
      body: { mappings: { dynamic: 'strict', properties: { amount: { type: 'long' }, at: { type: 'date' }, meta: { type: 'object', properties: { ok: { type: 'boolean' } } } } } },
    });
    const result = await bulk([
      { index: { _id: 't1' } }, { amount: 'abc' },
      { index: { _id: 't2' } }, { amount: '12', at: '2024-05-01T10:00:00Z', meta: { ok: true } },
      { index: { _id: 't3' } }, { amount: 1, extra: 'x' },
      { index: { _id: 't4' } }, { at: 'yesterday' },
    ], 'typed');
    const [wrongType, coerced, strict, badDate] = result.items.map(only);
    expect(wrongType?.status).toBe(400);
    expect(wrongType?.error?.type).toBe('mapper_parsing_exception');
    expect(wrongType?.error?.reason).toBe("failed to parse field [amount] of type [long] in document with id 't1'. Preview of field's value: 'abc'");
    expect(coerced).toMatchObject({ status: 201, result: 'created' });
    expect(strict?.status).toBe(400);
    expect(strict?.error?.type).toBe('strict_dynamic_mapping_exception');
    expect(strict?.error?.reason).toBe('mapping set to strict, dynamic introduction of [extra] within [_doc] is not allowed');
    expect(badDate?.error?.type).toBe('mapper_parsing_exception');
    expect(standIn.documents('typed').map((d) => d.id)).toEqual(['t2']);

    const single = await responseError(client.index({ index: 'typed', id: 't5', body: { meta: { ok: 'maybe' } } }));
    expect(single.statusCode).toBe(400);
    expect(single.body.error.type).toBe('mapper_parsing_exception');

    // Dynamic mapping fixes a field's type from its first value, as OpenSearch does.
    expect((await client.index({ index: 'dynamic', id: 'd1', body: { v: 1 } })).statusCode).toBe(201);
    const dynamicConflict = await responseError(client.index({ index: 'dynamic', id: 'd2', body: { v: 'one' } }));
    expect(dynamicConflict.body.error.type).toBe('mapper_parsing_exception');
    expect(standIn.stats.mappingErrors).toBeGreaterThanOrEqual(5);
  });

  it('answers every request but GET / with 429 under throttleRate 1', async () => {
    standIn.setFaults({ throttleRate: 1 });
    try {
      const throttled = await responseError(client.index({ index: 'faults', id: 'f1', body: { n: 1 } }));
      expect(throttled.statusCode).toBe(429);
      expect(throttled.body.error.type).toBe('rejected_execution_exception');
      expect(throttled.body.error.root_cause[0].type).toBe('rejected_execution_exception');
      expect((await client.info()).statusCode).toBe(200);
      expect(standIn.document('faults', 'f1')).toBeUndefined();
      expect(standIn.stats.throttled).toBeGreaterThanOrEqual(1);
    } finally {
      standIn.setFaults({});
    }
    expect((await client.index({ index: 'faults', id: 'f1', body: { n: 1 } })).statusCode).toBe(201);
  });

  it('answers 503 under unavailableRate 1', async () => {
    standIn.setFaults({ unavailableRate: 1 });
    try {
      const unavailable = await responseError(client.count({ index: 'faults' }));
      expect(unavailable.statusCode).toBe(503);
    } finally {
      standIn.setFaults({});
    }
  });

  it('rejects some bulk items with 429 under itemThrottleRate, reproducibly from the seed', async () => {
    const operations = Array.from({ length: 40 }, (_, i) => [{ index: { _index: 'items', _id: `i${String(i).padStart(2, '0')}` } }, { i }]).flat();
    const statuses = async (): Promise<number[]> => (await bulk(operations)).items.map((item) => only(item).status);
    const before = standIn.stats.itemThrottled ?? 0;
    const bulksBefore = standIn.stats.bulk ?? 0;
    standIn.setFaults({ itemThrottleRate: 0.5, seed: 7 });
    let first: number[];
    let second: number[];
    try {
      first = await statuses();
      standIn.setFaults({ itemThrottleRate: 0.5, seed: 7 });
      second = await statuses();
    } finally {
      standIn.setFaults({});
    }
    const rejected = first.filter((s) => s === 429).length;
    expect(rejected).toBeGreaterThan(5);
    expect(rejected).toBeLessThan(35);
    expect(second.map((s) => s === 429)).toEqual(first.map((s) => s === 429));
    expect((standIn.stats.itemThrottled ?? 0) - before).toBe(2 * rejected);
    expect((standIn.stats.bulk ?? 0) - bulksBefore).toBe(2);
    const applied = first.flatMap((s, i) => (s === 429 ? [] : [`i${String(i).padStart(2, '0')}`]));
    expect(standIn.documents('items').map((d) => d.id)).toEqual(applied);

    const rejectedItem = (await client.bulk({ body: operations.slice(0, 2) })).body.items[0]?.index;
    expect(rejectedItem?.status).not.toBe(429); // faults are off again
    expect(standIn.documents('items')).toHaveLength(new Set([...applied, 'i00']).size);
  });

  it('answers unknown routes with an OpenSearch-shaped error and accepts gzip request bodies', async () => {
    const unknown = await responseError(client.transport.request({ method: 'GET', path: '/people/_nothing_here' }));
    expect(unknown.statusCode).toBe(400);
    expect(unknown.body).toMatchObject({ error: { root_cause: [{ type: 'illegal_argument_exception' }], type: 'illegal_argument_exception' }, status: 400 });
    const gzipClient = new Client({ node: standIn.endpoint, compression: 'gzip', maxRetries: 0 });
    try {
      const { statusCode } = await gzipClient.index({ index: 'gz', id: 'g', body: { zipped: true } });
      expect(statusCode).toBe(201);
      expect(standIn.document('gz', 'g')?.source).toEqual({ zipped: true });
    } finally {
      await gzipClient.close();
    }
  });
});
