import { request } from 'node:http';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3CreateOnlyProxy, type S3CreateOnlyProxy } from '../../local/standins/s3-create-only-proxy';

/*
 * An abort mid-PUT (the SDK's abort at a round's deadline, or a Lambda that timed out while sending the body) must
 * not land a partial object: on S3 a body shorter than its Content-Length is never stored. The create-only proxy reads
 * the body before it forwards it, so it must not forward what it got of a body cut short, nor keep the key "in
 * progress" (a 409 for good).
 */
describe('S3 create-only proxy: a create-only PUT cut off mid-body', () => {
  let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
  let proxy: S3CreateOnlyProxy;
  let s3: S3Client;
  const bucket = 'abort-mid-put';

  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, logger: false });
    proxy = await startS3CreateOnlyProxy(`http://127.0.0.1:${fauxqs.port}`);
    s3 = new S3Client({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, forcePathStyle: true, maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  afterAll(async () => {
    s3?.destroy();
    await proxy?.stop();
    await fauxqs?.stop();
  });

  it('stores nothing, and the next create-only write of the key creates it', async () => {
    const key = 'changes/cut.json';
    const body = Buffer.from(JSON.stringify({ whole: 'x'.repeat(1000) }));
    await new Promise<void>((resolve) => {
      const req = request(`${proxy.endpoint}/${bucket}/${key}`, {
        method: 'PUT',
        headers: { 'if-none-match': '*', 'content-length': body.length, 'content-type': 'application/json' },
      });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write(body.subarray(0, 100));
      setTimeout(() => req.destroy(), 100);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));

    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch((error: unknown) => error);
    expect((head as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(404);
    expect(proxy.created.filter(({ path }) => path.endsWith('/cut.json'))).toEqual([]);

    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, IfNoneMatch: '*' }));
    const stored = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(stored.ContentLength).toBe(body.length);
  });
});
