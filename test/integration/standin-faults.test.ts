import { EventBridgeClient, PutEventsCommand, ThrottlingException, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, errors } from '@opensearch-project/opensearch';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEventBridgeStandIn, type EventBridgeStandIn } from '../../local/standins/eventbridge/server';
import { startOpenSearchStandIn, type OpenSearchStandIn } from '../../local/standins/opensearch/server';
import { startS3CreateOnlyProxy, type S3CreateOnlyProxy } from '../../local/standins/s3-create-only-proxy';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const failure = <E>(call: Promise<unknown>): Promise<E> => call.then(() => expect.fail('expected a failure'), (error: E) => error);

describe('OpenSearch stand-in: write blocks and slow answers', () => {
  let standIn: OpenSearchStandIn;
  let client: Client;
  type Items = Record<string, { status: number; error?: { type: string; reason: string } }>[];
  const ops = (n: number, action: 'index' | 'delete' = 'index') =>
    Array.from({ length: n }, (_, i) =>
      action === 'index' ? [{ index: { _index: 'blocked', _id: `d${i}` } }, { i }] : [{ delete: { _index: 'blocked', _id: `d${i}` } }],
    ).flat();

  beforeAll(async () => {
    standIn = await startOpenSearchStandIn();
    client = new Client({ node: standIn.endpoint, maxRetries: 0 });
  });
  beforeEach(() => standIn.setFaults({}));
  afterAll(async () => {
    await client.close();
    await standIn.stop();
  });

  it('refuses a whole _bulk with the cluster read-only block and a document write with its index write block (403)', async () => {
    standIn.setFaults({ writeBlockRate: 1 });
    const bulk = await failure<InstanceType<typeof errors.ResponseError>>(client.bulk({ body: ops(2) }));
    expect(bulk.statusCode).toBe(403);
    expect(bulk.body.error).toMatchObject({ type: 'cluster_block_exception', reason: 'blocked by: [FORBIDDEN/6/cluster read-only (api)];' });
    expect(bulk.body.error.root_cause[0].type).toBe('cluster_block_exception');
    const single = await failure<InstanceType<typeof errors.ResponseError>>(client.index({ index: 'blocked', id: 'x', body: { n: 1 } }));
    expect(single.statusCode).toBe(403);
    expect(single.body.error.reason).toBe('index [blocked] blocked by: [FORBIDDEN/8/index write (api)];');
    // Reads and index administration are not writes of documents.
    expect((await client.indices.exists({ index: 'blocked' })).body).toBe(false);
    expect((await client.search({ body: { query: { match_all: {} } } })).statusCode).toBe(200);
    expect(standIn.documents('blocked')).toEqual([]);
    expect(standIn.stats.writeBlocked).toBe(2);
  });

  it('fails _bulk items with the index write block (403) and the flood-stage block (429), letting deletes past the latter', async () => {
    standIn.setFaults({ itemWriteBlockRate: 1 });
    const blocked = (await client.bulk({ body: ops(2) })).body as unknown as { errors: boolean; items: Items };
    expect(blocked.errors).toBe(true);
    expect(blocked.items.map((item) => item.index)).toEqual([
      expect.objectContaining({ status: 403, error: { type: 'cluster_block_exception', reason: 'index [blocked] blocked by: [FORBIDDEN/8/index write (api)];' } }),
      expect.objectContaining({ status: 403 }),
    ]);

    standIn.setFaults({ itemFloodStageRate: 1 });
    const flood = (await client.bulk({ body: ops(1) })).body as unknown as { items: Items };
    expect(flood.items[0]?.index).toMatchObject({
      status: 429,
      error: {
        type: 'cluster_block_exception',
        reason: 'index [blocked] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block];',
      },
    });
    const deletes = (await client.bulk({ body: ops(1, 'delete') })).body as unknown as { items: Items };
    expect(deletes.items[0]?.delete?.status).toBe(404);
    expect(standIn.stats).toMatchObject({ itemWriteBlocked: 2, itemFloodBlocked: 1 });
  });

  it('draws item blocks from the seed, so a profile replays', async () => {
    const statuses = async () =>
      ((await client.bulk({ body: ops(30) })).body as unknown as { items: Items }).items.map((item) => {
        const status = item.index?.status ?? 0;
        return status >= 400 ? status : 'ok';
      });
    standIn.setFaults({ itemWriteBlockRate: 0.3, itemFloodStageRate: 0.3, seed: 4 });
    const first = await statuses();
    standIn.setFaults({ itemWriteBlockRate: 0.3, itemFloodStageRate: 0.3, seed: 4 });
    expect(await statuses()).toEqual(first);
    expect(new Set(first)).toEqual(new Set([403, 429, 'ok']));
  });

  it('holds a write slowRate of the time and still applies it when the client waits', async () => {
    standIn.setFaults({ slowRate: 1, slowMs: 300 });
    const started = Date.now();
    const reply = await client.index({ index: 'slow', id: 'waited', body: { n: 1 } });
    expect(reply.statusCode).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const readStarted = Date.now();
    await client.get({ index: 'slow', id: 'waited' });
    expect(Date.now() - readStarted).toBeLessThan(250);
  });

  it('drops a held write whose client gave up, so it never lands late', async () => {
    standIn.setFaults({ slowRate: 1, slowMs: 400 });
    const error = await failure<Error>(client.index({ index: 'slow', id: 'abandoned', body: { n: 1 } }, { requestTimeout: 100 }));
    expect(error.name).toBe('TimeoutError');
    await sleep(500);
    expect(standIn.document('slow', 'abandoned')).toBeUndefined();
    expect(standIn.stats.abandoned).toBe(1);
  });

  it('answers scripted errors: OpenSearch-shaped or the service front end\'s, whole writes or _bulk items, reads untouched', async () => {
    standIn.setFaults({ requestError: { status: 403, type: 'security_exception', reason: 'no permissions for [indices:data/write/bulk]' } });
    const denied = await failure<InstanceType<typeof errors.ResponseError>>(client.bulk({ body: ops(1) }));
    expect(denied.statusCode).toBe(403);
    expect(denied.body.error).toMatchObject({ type: 'security_exception', reason: 'no permissions for [indices:data/write/bulk]' });
    expect((await client.search({ body: { query: { match_all: {} } } })).statusCode).toBe(200);

    standIn.setFaults({ requestError: { status: 403, reason: 'User: anonymous is not authorized to perform: es:ESHttpPost' } });
    const iam = await failure<InstanceType<typeof errors.ResponseError>>(client.index({ index: 'blocked', id: 'x', body: { n: 1 } }));
    expect(iam.statusCode).toBe(403);
    expect(iam.body).toEqual({ Message: 'User: anonymous is not authorized to perform: es:ESHttpPost' });

    standIn.setFaults({ itemError: { status: 504, type: 'exception', reason: 'timed out', rate: 0.5 }, seed: 2 });
    const items = ((await client.bulk({ body: ops(20) })).body as unknown as { items: Items }).items.map((item) => item.index?.status);
    for (const status of items) expect([200, 201, 504]).toContain(status);
    expect(items.filter((status) => status === 504).length).toBe(standIn.stats.itemScriptedErrors);
    expect(standIn.stats.itemScriptedErrors).toBeGreaterThan(0);
    expect(standIn.stats.itemScriptedErrors).toBeLessThan(20);
    expect(standIn.stats.scriptedErrors).toBe(2);
  });

  it('refuses bad fault settings', () => {
    expect(() => standIn.setFaults({ writeBlockRate: 2 })).toThrow(RangeError);
    expect(() => standIn.setFaults({ slowRate: 0.1, slowMs: -1 })).toThrow(RangeError);
    expect(() => standIn.setFaults({ requestError: { status: 200 } })).toThrow(RangeError);
    expect(() => standIn.setFaults({ itemError: { status: 503, type: 'exception', rate: -1 } })).toThrow(RangeError);
  });
});

describe('EventBridge stand-in: throttling, partial failures and slow answers', () => {
  let standIn: EventBridgeStandIn;
  let client: EventBridgeClient;
  const entries = (n: number): PutEventsRequestEntry[] =>
    Array.from({ length: n }, (_, i) => ({ EventBusName: 'bus', Source: 'test', DetailType: 'T', Detail: JSON.stringify({ i }) }));

  beforeAll(async () => {
    standIn = await startEventBridgeStandIn({ buses: ['bus'] });
    client = new EventBridgeClient({ endpoint: standIn.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  });
  beforeEach(() => {
    standIn.setFaults({});
    standIn.clear();
  });
  afterAll(async () => {
    client.destroy();
    await standIn.stop();
  });

  it('answers throttleRate calls with ThrottlingException (HTTP 400), as the SDK parses it', async () => {
    standIn.setFaults({ throttleRate: 1, callFailureRate: 1, callError: 'InternalException' });
    const error = await failure<ThrottlingException>(client.send(new PutEventsCommand({ Entries: entries(2) })));
    expect(error).toBeInstanceOf(ThrottlingException);
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toBe('Rate exceeded');
    expect(standIn.events()).toEqual([]);
  });

  it('fails entries with a seeded pick of several error codes and counts them in FailedEntryCount', async () => {
    standIn.setFaults({ entryFailureRate: 1, entryErrorCode: ['ThrottlingException', 'InternalFailure'], seed: 3 });
    const response = await client.send(new PutEventsCommand({ Entries: entries(10) }));
    expect(response.FailedEntryCount).toBe(10);
    expect(new Set(response.Entries?.map((entry) => entry.ErrorCode))).toEqual(new Set(['ThrottlingException', 'InternalFailure']));
    expect(response.Entries?.find((entry) => entry.ErrorCode === 'ThrottlingException')?.ErrorMessage).toBe('Rate exceeded.');
  });

  it('holds a slow call and stores it when the client waits, drops it when the client aborts', async () => {
    standIn.setFaults({ slowRate: 1, slowMs: 300 });
    const started = Date.now();
    expect((await client.send(new PutEventsCommand({ Entries: entries(1) }))).FailedEntryCount).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    const aborted = await failure<Error>(
      client.send(new PutEventsCommand({ Entries: entries(1) }), { abortSignal: AbortSignal.timeout(100) }),
    );
    expect(aborted.name).toBe('AbortError');
    await sleep(400);
    expect(standIn.events()).toHaveLength(1);
    expect(standIn.stats).toMatchObject({ heldCalls: 2, abandonedCalls: 1, calls: 1 });
  });

  it('refuses bad fault settings', () => {
    expect(() => standIn.setFaults({ throttleRate: 1.1 })).toThrow(RangeError);
    expect(() => standIn.setFaults({ slowRate: 0.5, slowMs: Number.NaN })).toThrow(RangeError);
    expect(() => standIn.setFaults({ entryFailureRate: 0.1, entryErrorCode: [] })).toThrow(RangeError);
  });
});

describe('S3 create-only proxy: SlowDown and slow answers', () => {
  let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
  let proxy: S3CreateOnlyProxy;
  let s3: S3Client;
  const put = (key: string, options: { abortSignal?: AbortSignal } = {}) =>
    s3.send(new PutObjectCommand({ Bucket: 'faults', Key: key, Body: '{}', IfNoneMatch: '*' }), options);
  const exists = (key: string) => s3.send(new HeadObjectCommand({ Bucket: 'faults', Key: key })).then(() => true, () => false);

  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, logger: false });
    proxy = await startS3CreateOnlyProxy(`http://127.0.0.1:${fauxqs.port}`);
    s3 = new S3Client({ endpoint: proxy.endpoint, region: 'us-east-1', credentials, forcePathStyle: true, maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: 'faults' }));
  });
  beforeEach(() => proxy.setFaults({}));
  afterAll(async () => {
    s3.destroy();
    await proxy.stop();
    await fauxqs.stop();
  });

  it('answers 503 SlowDown as S3 does', async () => {
    proxy.setFaults({ slowDownRate: 1 });
    const error = await failure<{ name: string; $metadata: { httpStatusCode?: number } }>(put('slowdown'));
    expect(error.name).toBe('SlowDown');
    expect(error.$metadata.httpStatusCode).toBe(503);
    expect(proxy.faultStats.slowDowns).toBe(1);
  });

  it('holds a write and forwards it when the client waits, drops it when the client aborts', async () => {
    proxy.setFaults({ slowRate: 1, slowMs: 300 });
    const started = Date.now();
    await put('waited');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);

    const aborted = await failure<Error>(put('abandoned', { abortSignal: AbortSignal.timeout(100) }));
    expect(aborted.name).toBe('AbortError');
    await sleep(400);
    proxy.setFaults({});
    expect(await exists('waited')).toBe(true);
    expect(await exists('abandoned')).toBe(false);
    expect(proxy.faultStats).toMatchObject({ held: 2, abandoned: 1 });
  });

  it('refuses bad fault settings', () => {
    expect(() => proxy.setFaults({ slowDownRate: -1 })).toThrow(RangeError);
    expect(() => proxy.setFaults({ slowRate: 3 })).toThrow(RangeError);
  });
});
