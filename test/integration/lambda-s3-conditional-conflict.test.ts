import { createServer, request, type ClientRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditObjectKey, toAuditObject } from '../../consumers/audit/audit-object';
import { readableImageValue } from '../../shared/accounts/image-json';
import { S3AuditLog } from '../../consumers/audit/s3-audit-log';
import { startS3CreateOnlyProxy, type S3CreateOnlyProxy } from '../../local/standins/s3-create-only-proxy';
import type { Delivery } from '../../shared/ordering/ports';
import { classifyError, errorNameOf, httpStatusOf } from '../../shared/retry/classify-error';
import { Retrier } from '../../shared/retry/retrier';
import { accountHistory } from '../support/histories';

const BUCKET = 'conflicts';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** The path an SDK path-style request uses for `key` (each segment URI-encoded). */
const pathOf = (key: string): string => `/${BUCKET}/${key.split('/').map(encodeURIComponent).join('/')}`;

describe('S3 create-only proxy: concurrent conditional writes of one key conflict, as on S3', () => {
  let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
  let proxy: S3CreateOnlyProxy;
  let s3: S3Client;

  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, logger: false });
    proxy = await startS3CreateOnlyProxy(`http://127.0.0.1:${fauxqs.port}`);
    s3 = new S3Client({
      endpoint: proxy.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      forcePathStyle: true,
      maxAttempts: 1,
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  afterAll(async () => {
    s3?.destroy();
    await proxy?.stop();
    await fauxqs?.stop();
  });

  /**
   * Starts a create-only PUT of `key` and sends only half its body: the write stays in progress at the proxy until
   * `finish()` sends the rest; resolves with its status code.
   */
  function startSlowCreate(key: string, text = '{"held":true}'): { finish: () => Promise<number>; req: ClientRequest } {
    const body = Buffer.from(text);
    let answered: (status: number) => void = () => undefined;
    const status = new Promise<number>((resolve) => (answered = resolve));
    const req = request(`${proxy.endpoint}${pathOf(key)}`, {
      method: 'PUT',
      headers: { 'if-none-match': '*', 'content-length': body.length, 'content-type': 'application/json' },
    });
    req.on('response', (res) => {
      res.resume();
      answered(res.statusCode ?? 0);
    });
    req.write(body.subarray(0, 4));
    return {
      req,
      finish: async () => {
        req.end(body.subarray(4));
        return status;
      },
    };
  }

  const createOnly = (key: string) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '{}', IfNoneMatch: '*' }));

  it('answers 409 ConditionalRequestConflict while another is in progress, then 412 once the object exists', async () => {
    const key = 'plain/one.json';
    const before = { conflicts: proxy.conflicts, refused: proxy.refused, created: proxy.created.length };
    const held = startSlowCreate(key);
    await sleep(100); // the held write has reached the proxy

    const conflict = await createOnly(key).catch((error: unknown) => error);
    expect(httpStatusOf(conflict)).toBe(409);
    expect(errorNameOf(conflict)).toBe('ConditionalRequestConflict');
    expect(classifyError(conflict)).toBe('retry');

    expect(await held.finish()).toBe(200);
    const refused = await createOnly(key).catch((error: unknown) => error);
    expect(httpStatusOf(refused)).toBe(412);
    expect(proxy.conflicts - before.conflicts).toBe(1);
    expect(proxy.refused - before.refused).toBe(1);
    // Only the write that stored the object is logged as a creation.
    expect(proxy.created.slice(before.created).map((entry) => entry.path)).toEqual([pathOf(key)]);
  });

  it('the audit adapter retries a 409 and then counts the version as a duplicate, not a failure', async () => {
    const [record] = accountHistory('conflict-1', 1);
    const delivery: Delivery = { record: record as Delivery['record'], healed: false, replay: false, epoch: 'live' };
    const key = auditObjectKey(delivery.record.accountId, delivery.record.version);
    // The other writer writes the same change (another copy of the record): after its 412 the adapter reads the object
    // back, and only the same change is a duplicate (test/unit/s3-audit-log-conditional-writes.test.ts has the rest).
    const held = startSlowCreate(key, JSON.stringify(toAuditObject(delivery), readableImageValue));
    await sleep(100);
    const conflictsBefore = proxy.conflicts;
    const audit = new S3AuditLog({
      client: s3,
      bucket: BUCKET,
      retrier: new Retrier({ policy: { maxAttempts: 6, baseDelayMs: 200, maxDelayMs: 400 } }),
    });
    const delivering = audit.deliver([delivery]);
    await waitFor(() => proxy.conflicts > conflictsBefore, 'the 409');
    expect(await held.finish()).toBe(200);

    const [result] = await delivering;
    expect(result).toEqual({ status: 'duplicate' });
    expect(proxy.created.filter((entry) => entry.path === pathOf(key))).toHaveLength(1);
  });
});

describe('S3 create-only proxy: a client that leaves while its write is checked', () => {
  it('does not hold the key as in progress for good: the next create-only write of it is refused 412, not 409', async () => {
    // An emulator slow to answer the existence check, so the client can leave (an SDK abort at its deadline) meanwhile.
    let stored = false;
    const upstream = createServer((req, res) => {
      req.resume();
      if (req.method === 'HEAD') setTimeout(() => res.writeHead(stored ? 200 : 404).end(), 300);
      else {
        stored = true;
        res.writeHead(200).end();
      }
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const proxy = await startS3CreateOnlyProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    const put = (leaveAfterMs?: number) =>
      new Promise<number | 'left'>((resolve) => {
        const req = request(`${proxy.endpoint}/${BUCKET}/left.json`, { method: 'PUT', headers: { 'if-none-match': '*', 'content-length': 2 } });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve('left'));
        req.end('{}');
        if (leaveAfterMs !== undefined) setTimeout(() => req.destroy(), leaveAfterMs);
      });
    try {
      expect(await put(50)).toBe('left');
      // The write went on without its client, as on S3; its key is free again once the emulator answered.
      await waitFor(() => proxy.created.length === 1, 'the write of the client that left');
      expect(await put()).toBe(412);
      expect(proxy.conflicts).toBe(0);
    } finally {
      await proxy.stop();
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });
});
