import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { decodeChangeRecord } from '../../shared/change-record/decode';
import { encodeKinesisPayload, fromLambdaKinesisRecord, type KinesisRecordInput, type LambdaKinesisRecord } from '../../shared/change-record/kinesis-input';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

// Re-encoded from the parsed lines: the fixtures hold the JSON payloads, a Kinesis record holds their base64.
const payloads = fixture('kds-dynamodb-records.jsonl')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Record<string, unknown>);
const capturedEvent = JSON.parse(fixture('lambda-kinesis-event-captured.json')) as { Records: LambdaKinesisRecord[] };

const SHARD = 'shardId-000000000003';
const inputFor = (payload: object, index: number): KinesisRecordInput => ({
  data: encodeKinesisPayload(payload),
  sequenceNumber: `4965000000000000000000000000000000000000000000000000000${index}`,
  shardId: SHARD,
  approximateArrivalTimestamp: 1795392100.25 + index,
});
const accounts = { tableName: 'Accounts' };

function decodeOk(input: KinesisRecordInput): ChangeRecord {
  const result = decodeChangeRecord(input, accounts);
  if (!result.ok) throw new Error(`expected a record, got ${result.bad.reason}: ${result.bad.detail}`);
  return result.record;
}

const acc17 = (balance: number, version: number) => ({
  account_id: 'ACC-17',
  balance,
  currency: 'AUD',
  status: 'OPEN',
  version,
});
const position = (index: number) => ({
  sequenceNumber: `4965000000000000000000000000000000000000000000000000000${index}`,
  shardId: SHARD,
  arrivedAtMs: 1795392100250 + index * 1000,
});

const expected: ChangeRecord[] = [
  {
    accountId: 'ACC-17',
    version: 1,
    previousVersion: 0,
    kind: 'INSERT',
    newImage: acc17(1000, 1),
    createdAtMicros: 1795392000123456,
    eventId: '5b1c3f0e-6a1e-4c1b-9a57-2f7d9c0d1a11',
    ...position(0),
  },
  {
    accountId: 'ACC-17',
    version: 2,
    previousVersion: 1,
    kind: 'MODIFY',
    newImage: acc17(1200, 2),
    oldImage: acc17(1000, 1),
    createdAtMicros: 1795392060456789,
    eventId: '0f7e2d55-93a4-4d8e-8f0c-6c2b1e4b7a22',
    ...position(1),
  },
  {
    accountId: 'ACC-17',
    version: 3,
    previousVersion: 2,
    kind: 'MODIFY',
    newImage: acc17(1170, 3),
    oldImage: acc17(1200, 2),
    createdAtMicros: 1795392061000001,
    eventId: '9d3a6b21-2c4f-4e0b-b1d8-7e5f3a9c2b33',
    ...position(2),
  },
  {
    accountId: 'ACC-99',
    version: 8,
    previousVersion: 7,
    kind: 'REMOVE',
    oldImage: {
      account_id: 'ACC-99',
      balance: 0,
      currency: 'AUD',
      status: 'CLOSED',
      version: 7,
      expires_at: 1795478000,
    },
    createdAtMicros: 1795478400000000,
    eventId: 'c4e8f1a2-7b3d-4a6e-9f20-1d5c8b7e4c44',
    removedByTtl: true,
    ...position(3),
  },
  {
    accountId: 'ACC-18',
    version: 5,
    previousVersion: 4,
    kind: 'MODIFY',
    newImage: { account_id: 'ACC-18', balance: 30, currency: 'AUD', status: 'OPEN', version: 5 },
    oldImage: { account_id: 'ACC-18', balance: 0, currency: 'AUD', status: 'OPEN', version: 4 },
    createdAtMicros: 1795392062000000,
    eventId: 'e2b7c9d4-1f6a-4b8c-a3e5-6d9f0a1b2c55',
    ...position(4),
  },
];

describe('decodeChangeRecord on the documented fixtures', () => {
  it('has one expectation per fixture line', () => {
    expect(payloads).toHaveLength(expected.length);
  });

  it.each(expected.map((record, index) => [index, record.kind, record.accountId, record.version, record] as const))(
    'line %i: %s %s v%i',
    (index, _kind, _account, _version, record) => {
      const input = inputFor(payloads[index]!, index);
      // payloadBytes: the decoded data's UTF-8 bytes, the bound on its images' stored size.
      expect(decodeOk(input)).toStrictEqual({ ...record, payloadBytes: Buffer.from(input.data, 'base64').length });
    },
  );

  it('gives every image its version as the last attribute, wherever the stream put it', () => {
    // Images are written out as they are (audit objects, the ledger's last image): their attribute order stays put.
    payloads.forEach((payload, index) => {
      const record = decodeOk(inputFor(payload, index));
      for (const image of [record.newImage, record.oldImage]) if (image) expect(Object.keys(image).at(-1)).toBe('version');
    });
    const dynamodb = (payloads[1] as { dynamodb: { NewImage: Record<string, unknown> } }).dynamodb;
    const { version, ...rest } = dynamodb.NewImage;
    const versionFirst = { ...payloads[1], dynamodb: { ...dynamodb, NewImage: { version, ...rest } } };
    expect(Object.keys(decodeOk(inputFor(versionFirst, 1)).newImage ?? {}).at(-1)).toBe('version');
  });

  it('omits arrivedAtMs when Kinesis gave no arrival time', () => {
    const { approximateArrivalTimestamp: _, ...input } = inputFor(payloads[0]!, 0);
    expect(decodeOk(input)).not.toHaveProperty('arrivedAtMs');
  });

  it('does not mark a REMOVE by a caller as removed by TTL', () => {
    const payload = { ...payloads[3]!, userIdentity: null };
    const record = decodeOk(inputFor(payload, 3));
    expect(record.kind).toBe('REMOVE');
    expect(record.removedByTtl).toBeUndefined();
  });

  it('accepts an INSERT above version 1 (a restore re-inserting an item)', () => {
    const payload = structuredClone(payloads[0]!) as { dynamodb: { NewImage: { version: { N: string } } } };
    payload.dynamodb.NewImage.version = { N: '6' };
    const record = decodeOk(inputFor(payload, 0));
    expect([record.version, record.previousVersion]).toEqual([6, 5]);
  });
});

describe('creation time normalisation', () => {
  const withTime = (value: number, precision?: string) => {
    const payload = structuredClone(payloads[1]!) as { dynamodb: Record<string, unknown> };
    payload.dynamodb.ApproximateCreationDateTime = value;
    if (precision === undefined) delete payload.dynamodb.ApproximateCreationDateTimePrecision;
    else payload.dynamodb.ApproximateCreationDateTimePrecision = precision;
    return decodeOk(inputFor(payload, 1)).createdAtMicros;
  };

  it('keeps MICROSECOND values and multiplies MILLISECOND values by 1000', () => {
    expect(withTime(1795392060456789, 'MICROSECOND')).toBe(1795392060456789);
    expect(withTime(1795392062000, 'MILLISECOND')).toBe(1795392062000000);
  });

  it('infers the unit from the magnitude when the precision field is absent, as in real records', () => {
    expect(withTime(1731924555370)).toBe(1731924555370000);
    expect(withTime(1731924555.37)).toBe(1731924555370000);
    expect(withTime(1731924555370123)).toBe(1731924555370123);
  });
});

describe('the captured Lambda event', () => {
  const lambdaRecord = capturedEvent.Records[0]!;

  it('maps to a Kinesis record input, taking the shard from the eventID', () => {
    const input = fromLambdaKinesisRecord(lambdaRecord);
    expect(input).toStrictEqual({
      data: lambdaRecord.kinesis.data,
      sequenceNumber: '49657828409187701520019995242508390119953358325192589314',
      shardId: 'shardId-000000000000',
      partitionKey: '859F7C064A4818874FA67ABEC9BF2AF1',
      approximateArrivalTimestamp: 1731924555.932,
    });
  });

  it('refuses a Lambda eventID without a shard prefix', () => {
    expect(() => fromLambdaKinesisRecord({ ...lambdaRecord, eventID: 'no-shard-here' })).toThrow(/shard id/);
  });

  it('is rejected as WRONG_TABLE by a decoder configured for Accounts', () => {
    const input = fromLambdaKinesisRecord(lambdaRecord);
    const result = decodeChangeRecord(input, accounts);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.bad).toMatchObject({
      reason: 'WRONG_TABLE',
      shardId: 'shardId-000000000000',
      sequenceNumber: '49657828409187701520019995242508390119953358325192589314',
      data: lambdaRecord.kinesis.data,
    });
    expect(result.bad.detail).toContain('PowertoolsEventsStack-DynamoDBTable59784FC0-8NKAMTERTAXY');
    expect(result.bad.accountId).toBeUndefined();
  });

  it('is rejected as MISSING_ACCOUNT_ID when configured for its own table, whose key is `id`', () => {
    const result = decodeChangeRecord(fromLambdaKinesisRecord(lambdaRecord), {
      tableName: 'PowertoolsEventsStack-DynamoDBTable59784FC0-8NKAMTERTAXY',
    });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.bad.reason).toBe('MISSING_ACCOUNT_ID');
  });

  it('decodes once its shape is an account, with milliseconds inferred and arrivedAtMs from Lambda', () => {
    const payload = JSON.parse(Buffer.from(lambdaRecord.kinesis.data, 'base64').toString('utf8')) as {
      tableName: string;
      dynamodb: Record<string, unknown>;
    };
    payload.tableName = 'Accounts';
    payload.dynamodb.Keys = { account_id: { S: 'ACC-1' } };
    payload.dynamodb.NewImage = { account_id: { S: 'ACC-1' }, balance: { N: '0' }, version: { N: '1' } };
    const input = fromLambdaKinesisRecord({
      ...lambdaRecord,
      kinesis: { ...lambdaRecord.kinesis, data: encodeKinesisPayload(payload) },
    });
    const record = decodeOk(input);
    expect(record).toMatchObject({
      accountId: 'ACC-1',
      kind: 'INSERT',
      version: 1,
      previousVersion: 0,
      createdAtMicros: 1731924555370000,
      eventId: 'd9428029-0f63-4056-86da-ce10d545b1b9',
      shardId: 'shardId-000000000000',
      arrivedAtMs: 1731924555932,
    });
  });
});
