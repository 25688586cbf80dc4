import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { auditObjectKey, toAuditObject } from '../../consumers/audit/audit-object';
import { S3AuditLog, type UnverifiedDuplicate } from '../../consumers/audit/s3-audit-log';
import { readableImageValue } from '../../shared/accounts/image-json';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { Delivery } from '../../shared/ordering/ports';
import { Retrier } from '../../shared/retry/retrier';
import { accountHistory } from '../support/histories';

/*
 * The audit adapter against S3's own answers, parsed by the SDK from the bytes S3 sends (fauxqs ignores
 * If-None-Match, and the create-only proxy answers only 412/409 for keys it saw): 412 PreconditionFailed, 409
 * ConditionalRequestConflict, the object read back after a 412, KMS and throttling refusals, and the checksum an
 * Object Lock bucket demands of every PutObject.
 */

interface Answer {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
}

const s3Error = (status: number, code: string, message = code): Answer => ({
  status,
  headers: { 'content-type': 'application/xml', 'x-amz-request-id': 'req-1' },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>req-1</RequestId><HostId>host</HostId></Error>`,
});
const ok = (): Answer => ({ status: 200, headers: { etag: '"abc"' } });
const preconditionFailed = (): Answer =>
  s3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
const conflict = (): Answer =>
  s3Error(409, 'ConditionalRequestConflict', 'A conflicting conditional operation is currently in progress against this resource. Please try again.');
const objectBody = (body: string): Answer => ({ status: 200, headers: { 'content-type': 'application/json' }, body });

/** An S3 client whose requests are answered by `script` (PUTs and GETs in turn), recording what was sent. */
function scriptedS3(script: { put?: Answer[]; get?: Answer[] }, config: Record<string, unknown> = {}) {
  const seen: Seen[] = [];
  const queues = { PUT: [...(script.put ?? [])], GET: [...(script.get ?? [])] };
  const client = new S3Client({
    endpoint: 'http://s3.local',
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...config,
    requestHandler: {
      async handle(request: { method: string; path: string; headers: Record<string, string> }) {
        seen.push({ method: request.method, path: request.path, headers: { ...request.headers } });
        const queue = queues[request.method as 'PUT' | 'GET'];
        const answer = queue?.shift();
        if (answer === undefined) throw new Error(`unscripted ${request.method} ${request.path}`);
        return {
          // The shape of @smithy/protocol-http's HttpResponse, which the SDK's deserializers read.
          response: { statusCode: answer.status, headers: answer.headers ?? {}, body: Readable.from([Buffer.from(answer.body ?? '')]) },
        };
      },
      updateHttpClientConfig() {},
      httpHandlerConfigs: () => ({}),
      destroy() {},
    },
  });
  return { client, seen };
}

const quickRetrier = (maxAttempts = 4) => new Retrier({ policy: { maxAttempts, baseDelayMs: 0, maxDelayMs: 0 }, sleep: async () => undefined });

const delivery = (record: ChangeRecord, overrides: Partial<Delivery> = {}): Delivery => ({ record, healed: false, replay: false, epoch: 'live', ...overrides });

/** What the adapter writes for `d`: the object another delivery of the same change left in the log. */
const written = (d: Delivery): string => JSON.stringify(toAuditObject(d), readableImageValue);

function auditWith(script: { put?: Answer[]; get?: Answer[] }, options: { config?: Record<string, unknown>; maxAttempts?: number } = {}) {
  const { client, seen } = scriptedS3(script, options.config);
  const unverified: UnverifiedDuplicate[] = [];
  const audit = new S3AuditLog({
    client,
    bucket: 'audit',
    retrier: quickRetrier(options.maxAttempts),
    onUnverifiedDuplicate: (info) => unverified.push(info),
  });
  return { audit, seen, unverified };
}

describe('S3AuditLog: a 412 is a duplicate only when the log holds the same change', () => {
  const [v1, v2] = accountHistory('acct-412', 2) as [ChangeRecord, ChangeRecord];

  it('412 PreconditionFailed and the held object is the same change (another copy, replayed, another epoch): duplicate', async () => {
    const held = written(delivery(v2));
    const { audit, seen } = auditWith({ put: [preconditionFailed()], get: [objectBody(held)] });

    const [result] = await audit.deliver([delivery({ ...v2, sequenceNumber: 'another-copy' }, { replay: true, epoch: 'replay-1' })]);

    expect(result).toEqual({ status: 'duplicate' });
    expect(seen.map(({ method, path }) => `${method} ${path}`)).toEqual([
      `PUT /audit/${encodeKey(auditObjectKey('acct-412', 2))}`,
      `GET /audit/${encodeKey(auditObjectKey('acct-412', 2))}`,
    ]);
  });

  it('412 and the held object is a different change of the same version (a version written twice): REJECTED, never a duplicate', async () => {
    const other: ChangeRecord = {
      ...v2,
      eventId: 'another-write',
      newImage: { ...(v2.newImage as NonNullable<ChangeRecord['newImage']>), balance: 999_999 },
    };
    const { audit } = auditWith({ put: [preconditionFailed()], get: [objectBody(written(delivery(other)))] });

    const [result] = await audit.deliver([delivery(v2)]);

    expect(result).toMatchObject({ status: 'failed', reason: 'REJECTED', attempts: 1 });
    const detail = (result as { detail: string }).detail;
    expect(detail).toMatch(/PreconditionFailed/);
    expect(detail).toMatch(/different change/);
    expect(detail).toContain('another-write');
    expect(detail).toContain(v2.eventId);
  });

  it('412 and the held object belongs to another account (two ids on one key): REJECTED', async () => {
    const stranger = accountHistory('someone-else', 2)[1] as ChangeRecord;
    const { audit } = auditWith({ put: [preconditionFailed()], get: [objectBody(written(delivery(stranger)))] });

    const [result] = await audit.deliver([delivery(v2)]);

    expect(result).toMatchObject({ status: 'failed', reason: 'REJECTED' });
    expect((result as { detail: string }).detail).toMatch(/someone-else/);
  });

  it('412 and the key holds something that is not an audit object: REJECTED', async () => {
    const { audit } = auditWith({ put: [preconditionFailed()], get: [objectBody('not json at all')] });

    const [result] = await audit.deliver([delivery(v1)]);

    expect(result).toMatchObject({ status: 'failed', reason: 'REJECTED' });
    expect((result as { detail: string }).detail).toMatch(/not an audit object/);
  });

  it('a heal whose real record matches it: the same change, a duplicate either way round', async () => {
    const healed = { ...v2, eventId: `healed:acct-412#2`, createdAtMicros: v2.createdAtMicros + 5 };
    const { audit } = auditWith({ put: [preconditionFailed()], get: [objectBody(written(delivery(healed, { healed: true })))] });

    expect(await audit.deliver([delivery(v2)])).toEqual([{ status: 'duplicate' }]);
  });

  it('412 and the held object wrote a set in another order and a number beyond 2^53 as its digits: the same change', async () => {
    const image = { ...(v2.newImage as NonNullable<ChangeRecord['newImage']>), tags: new Set(['b', 'a', 'c']), big: 9007199254740993n };
    const ours: ChangeRecord = { ...v2, newImage: image as unknown as ChangeRecord['newImage'] };
    const held = written(delivery({ ...ours, newImage: { ...image, tags: new Set(['c', 'a', 'b']) } as unknown as ChangeRecord['newImage'] }));
    expect(held).toContain('"big":"9007199254740993"');
    const { audit } = auditWith({ put: [preconditionFailed()], get: [objectBody(held)] });

    expect(await audit.deliver([delivery(ours)])).toEqual([{ status: 'duplicate' }]);

    const changed = written(delivery({ ...ours, newImage: { ...image, tags: new Set(['a', 'b']) } as unknown as ChangeRecord['newImage'] }));
    const second = auditWith({ put: [preconditionFailed()], get: [objectBody(changed)] });
    expect(await second.audit.deliver([delivery(ours)])).toEqual([expect.objectContaining({ status: 'failed', reason: 'REJECTED' })]);
  });

  it('412, then the object cannot be read (no s3:GetObject, or no kms:Decrypt): a duplicate, reported as unverified with account, version and sequence number', async () => {
    const { audit, unverified } = auditWith({ put: [preconditionFailed()], get: [s3Error(403, 'AccessDenied', 'Access Denied')] });

    expect(await audit.deliver([delivery(v2)])).toEqual([{ status: 'duplicate' }]);
    expect(unverified).toEqual([
      expect.objectContaining({ accountId: 'acct-412', version: 2, sequenceNumber: v2.sequenceNumber, shardId: v2.shardId, key: auditObjectKey('acct-412', 2) }),
    ]);
    expect(unverified[0]?.error).toMatch(/AccessDenied/);
  });

  it('412, then the object is gone (a delete marker since): written again, not a duplicate', async () => {
    const { audit } = auditWith({ put: [preconditionFailed(), ok()], get: [s3Error(404, 'NoSuchKey', 'The specified key does not exist.')] });

    expect(await audit.deliver([delivery(v2)])).toEqual([{ status: 'delivered' }]);
  });

  it('412, then reading it back is throttled: retried, and settled by the next round', async () => {
    const held = written(delivery(v2));
    const { audit } = auditWith({ put: [preconditionFailed(), preconditionFailed()], get: [s3Error(503, 'SlowDown', 'Please reduce your request rate.'), objectBody(held)] });

    expect(await audit.deliver([delivery(v2)])).toEqual([{ status: 'duplicate' }]);
  });
});

describe('S3AuditLog: 409 ConditionalRequestConflict is retried, never a duplicate nor a refusal', () => {
  const [v1] = accountHistory('acct-409', 1) as [ChangeRecord];

  it('409 then the write goes through: delivered', async () => {
    const { audit } = auditWith({ put: [conflict(), ok()] });
    expect(await audit.deliver([delivery(v1)])).toEqual([{ status: 'delivered' }]);
  });

  it('409 then 412 with the same change held: duplicate', async () => {
    const { audit } = auditWith({ put: [conflict(), preconditionFailed()], get: [objectBody(written(delivery(v1)))] });
    expect(await audit.deliver([delivery(v1)])).toEqual([{ status: 'duplicate' }]);
  });

  it('409 on every attempt: DELIVERY_FAILED (dead-lettered, redrivable), not REJECTED', async () => {
    const { audit } = auditWith({ put: [conflict(), conflict(), conflict()] }, { maxAttempts: 3 });
    const [result] = await audit.deliver([delivery(v1)]);
    expect(result).toMatchObject({ status: 'failed', reason: 'DELIVERY_FAILED', attempts: 3 });
    expect((result as { detail: string }).detail).toMatch(/ConditionalRequestConflict/);
  });
});

describe('S3AuditLog: KMS and throttling refusals through S3', () => {
  const [v1] = accountHistory('acct-kms', 1) as [ChangeRecord];

  it.each([
    ['503 SlowDown (per-prefix throttling)', s3Error(503, 'SlowDown', 'Please reduce your request rate.')],
    ['KMS throttling passed through S3 (400 KMS.ThrottlingException)', s3Error(400, 'KMS.ThrottlingException', 'You have exceeded the rate at which you may call KMS.')],
    ['KMS throttling as KMS names it (400 ThrottlingException)', s3Error(400, 'ThrottlingException', 'Rate exceeded')],
    ['500 InternalError', s3Error(500, 'InternalError', 'We encountered an internal error. Please try again.')],
  ])('%s: retried', async (_name, answer) => {
    const { audit } = auditWith({ put: [answer, ok()] });
    expect(await audit.deliver([delivery(v1)])).toEqual([{ status: 'delivered' }]);
  });

  it.each([
    ['a disabled key (400 KMS.DisabledException)', s3Error(400, 'KMS.DisabledException', 'The key is disabled')],
    ['a key pending deletion (400 KMS.KMSInvalidStateException)', s3Error(400, 'KMS.KMSInvalidStateException', 'pending deletion')],
    ['no kms:GenerateDataKey / no s3:PutObject (403 AccessDenied)', s3Error(403, 'AccessDenied', 'Access Denied')],
  ])('%s: REJECTED at once, with the reason', async (_name, answer) => {
    const { audit } = auditWith({ put: [answer] });
    const [result] = await audit.deliver([delivery(v1)]);
    expect(result).toMatchObject({ status: 'failed', reason: 'REJECTED', attempts: 1 });
  });
});

describe('S3AuditLog: every PutObject carries a checksum (an Object Lock bucket refuses one without)', () => {
  const [v1] = accountHistory('acct-lock', 1) as [ChangeRecord];

  it.each([
    ['the SDK default', {}],
    ['requestChecksumCalculation WHEN_REQUIRED (AWS_REQUEST_CHECKSUM_CALCULATION=when_required)', { requestChecksumCalculation: 'WHEN_REQUIRED' }],
  ])('%s', async (_name, config) => {
    const { audit, seen } = auditWith({ put: [ok()] }, { config });
    expect(await audit.deliver([delivery(v1)])).toEqual([{ status: 'delivered' }]);
    const put = seen.find(({ method }) => method === 'PUT');
    const checksums = Object.keys(put?.headers ?? {}).filter((name) => /^(content-md5|x-amz-checksum-)/i.test(name));
    expect(checksums.length).toBeGreaterThan(0);
    expect(put?.headers['if-none-match']).toBe('*');
  });
});

/** The path the SDK sends for a key: each segment URI-encoded (`=` as `%3D`). */
function encodeKey(key: string): string {
  return key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}
