import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, test } from 'vitest';
import { S3AuditLog } from '../../consumers/audit/s3-audit-log';
import { bulkEntry } from '../../consumers/search/bulk-body';
import { exactImageValue, readableImageValue, reviveImageValue } from '../../shared/accounts/image-json';
import { decodeDeadLetter, encodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
import { canonical, changeDigest, hashCanonical, TextHash } from '../../shared/ordering/change-digest';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { accountHistory } from '../support/histories';

/** A version whose image holds what JSON has no form for: an integer beyond 2^53 and two sets. */
function unusual(): ChangeRecord {
  const [record] = accountHistory('ACC-BIG', 1);
  const newImage = { ...record!.newImage!, external_ref: 12345678901234567890n, tags: new Set(['gold', 'joint']), limits: new Set([5, 10]) };
  return { ...record!, newImage: newImage as unknown as ChangeRecord['newImage'] };
}

describe('account images that JSON has no form for', () => {
  test('round-trip exactly through the exact form; the readable one gives digits and arrays', () => {
    const image = unusual().newImage;
    expect(JSON.parse(JSON.stringify(image, exactImageValue), reviveImageValue)).toEqual(image);
    expect(JSON.parse(JSON.stringify(image, readableImageValue))).toMatchObject({ external_ref: '12345678901234567890', tags: ['gold', 'joint'], limits: [5, 10] });
  });

  test('a dead letter carrying such a record reads back as the same record, for redrive to rebuild', () => {
    const record = unusual();
    const letter = { reason: 'DELIVERY_FAILED', detail: 'x', destination: 'audit', epoch: 'live', at: 0, attempts: 1, accountId: record.accountId, version: record.version, record } as never;
    expect(decodeDeadLetter(encodeDeadLetter(letter)).record).toEqual(record);
  });

  test('the audit object and the search document carry them readably instead of failing the batch', async () => {
    const bodies: string[] = [];
    const client = { send: async (command: { input: { Body: string } }) => (bodies.push(command.input.Body), {}) } as unknown as S3Client;
    const delivery = { record: unusual(), healed: false, replay: false, epoch: 'live' };
    expect(await new S3AuditLog({ client, bucket: 'b' }).deliver([delivery])).toEqual([{ status: 'delivered' }]);
    expect(JSON.parse(bodies[0] as string).newImage).toMatchObject({ external_ref: '12345678901234567890', tags: ['gold', 'joint'] });
    const entry = bulkEntry({ delivery }, 'accounts', 1_000_000);
    expect(entry.kind === 'entry' && JSON.parse(entry.text.split('\n')[1] as string)).toMatchObject({ tags: ['gold', 'joint'] });
  });

  test("a heal's digest takes a bigint as its digits, the same walked as built", () => {
    const change = { kind: 'MODIFY' as const, oldImage: undefined, newImage: unusual().newImage };
    expect(canonical({ n: 12345678901234567890n })).toBe('{"n":12345678901234567890}');
    const walked = new TextHash();
    hashCanonical({ n: 12345678901234567890n }, walked);
    const built = new TextHash();
    built.text(canonical({ n: 12345678901234567890n }));
    expect(walked.hex()).toBe(built.hex());
    expect(changeDigest(change)).toBe(changeDigest(change));
  });
});

describe('numbers beyond 2^53 that are not integers (valid DynamoDB numbers the SDK throws on)', () => {
  test('decode as exact numbers; letters, redrive, audit and search keep their text', async () => {
    const { decodeChangeRecord } = await import('../../shared/change-record/decode');
    const { toKinesisInput } = await import('../../ops/commands/redrive-batches');
    const { encodeKinesisPayload } = await import('../../shared/change-record/kinesis-input');
    const image = { account_id: { S: 'ACC-N' }, balance: { N: '10' }, currency: { S: 'AUD' }, status: { S: 'OPEN' }, version: { N: '1' }, limit: { N: '1E+30' }, rate: { N: '12345678901234567890.5' } };
    const payload = {
      awsRegion: 'us-east-1', eventID: 'e-1', eventName: 'INSERT', userIdentity: null, recordFormat: 'application/json', tableName: 'Accounts', eventSource: 'aws:dynamodb',
      dynamodb: { ApproximateCreationDateTime: 1_795_392_000_000_000, Keys: { account_id: { S: 'ACC-N' } }, NewImage: image, SizeBytes: 100, ApproximateCreationDateTimePrecision: 'MICROSECOND' },
    };
    const decoded = decodeChangeRecord({ data: encodeKinesisPayload(payload), sequenceNumber: '1', shardId: 'shardId-000000000001' }, { tableName: 'Accounts' });
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const record = decoded.record;
    expect(String(record.newImage?.limit)).toBe('1E+30');
    const letter = { reason: 'DELIVERY_FAILED', detail: 'x', destination: 'audit', epoch: 'live', at: 0, attempts: 1, record } as never;
    const back = decodeDeadLetter(encodeDeadLetter(letter)).record as ChangeRecord;
    expect(String(back.newImage?.rate)).toBe('12345678901234567890.5');
    const rebuilt = JSON.parse(Buffer.from(toKinesisInput(back, 'Accounts', 'us-east-1').data, 'base64').toString()).dynamodb.NewImage;
    expect(rebuilt).toMatchObject({ limit: { N: '1E+30' }, rate: { N: '12345678901234567890.5' } });
    expect(JSON.parse(JSON.stringify(record.newImage, readableImageValue))).toMatchObject({ limit: '1E+30', rate: '12345678901234567890.5' });
  });
});
