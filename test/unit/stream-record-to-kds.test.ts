import type { _Record } from '@aws-sdk/client-dynamodb-streams';
import { describe, expect, it } from 'vitest';
import { decodeChangeRecord } from '../../shared/change-record/decode';
import { encodeKinesisPayload } from '../../shared/change-record/kinesis-input';
import { streamRecordToKds } from '../../local/bridge/stream-record-to-kds';

const image = (balance: number, version: number) => ({
  account_id: { S: 'ACC-17' },
  balance: { N: String(balance) },
  currency: { S: 'EUR' },
  status: { S: 'OPEN' },
  version: { N: String(version) },
  last_change: { M: { type: { S: 'DEPOSIT' }, amount: { N: '200' } } },
});

/** What `GetRecords` of @aws-sdk/client-dynamodb-streams returns for one MODIFY, dates already parsed. */
const accounts = { tableName: 'Accounts' };

const modify: _Record = {
  eventID: '7de3041dd709b024af6f29e4fa13d34c',
  eventName: 'MODIFY',
  eventVersion: '1.1',
  eventSource: 'aws:dynamodb',
  awsRegion: 'us-east-1',
  dynamodb: {
    ApproximateCreationDateTime: new Date('2026-11-23T10:00:01.000Z'),
    Keys: { account_id: { S: 'ACC-17' } },
    NewImage: image(1200, 2),
    OldImage: image(1000, 1),
    SequenceNumber: '000000000000000000042',
    SizeBytes: 124,
    StreamViewType: 'NEW_AND_OLD_IMAGES',
  },
};

describe('streamRecordToKds', () => {
  it('produces exactly the Kinesis Data Streams for DynamoDB payload, without the DynamoDB sequence number', () => {
    const payload = streamRecordToKds(modify, accounts);
    expect(payload).toStrictEqual({
      awsRegion: 'us-east-1',
      eventID: '7de3041dd709b024af6f29e4fa13d34c',
      eventName: 'MODIFY',
      userIdentity: null,
      recordFormat: 'application/json',
      tableName: 'Accounts',
      dynamodb: {
        ApproximateCreationDateTime: Date.parse('2026-11-23T10:00:01.000Z') * 1000,
        Keys: { account_id: { S: 'ACC-17' } },
        NewImage: image(1200, 2),
        OldImage: image(1000, 1),
        SizeBytes: 124,
        ApproximateCreationDateTimePrecision: 'MICROSECOND',
      },
      eventSource: 'aws:dynamodb',
    });
    // Key order as in the documented examples and the fixtures, in case anyone diffs JSON text.
    expect(Object.keys(payload)).toEqual([
      'awsRegion',
      'eventID',
      'eventName',
      'userIdentity',
      'recordFormat',
      'tableName',
      'dynamodb',
      'eventSource',
    ]);
    expect(JSON.stringify(payload)).not.toContain('SequenceNumber');
    expect(JSON.stringify(payload)).not.toContain('StreamViewType');
  });

  it('yields a record the consumers decode into the right change', () => {
    const data = encodeKinesisPayload(streamRecordToKds(modify, accounts));
    const sequenceNumber = '49000000000000000000000000000000000000000000000000000001';
    const input = { data, sequenceNumber, shardId: 'shardId-000000000001' };
    const decoded = decodeChangeRecord(input, accounts);
    if (!decoded.ok) throw new Error(`${decoded.bad.reason}: ${decoded.bad.detail}`);
    const last_change = { type: 'DEPOSIT', amount: 200 };
    const common = { account_id: 'ACC-17', currency: 'EUR', status: 'OPEN', last_change };
    expect(decoded.record).toStrictEqual({
      accountId: 'ACC-17',
      version: 2,
      previousVersion: 1,
      kind: 'MODIFY',
      newImage: { ...common, balance: 1200, version: 2 },
      oldImage: { ...common, balance: 1000, version: 1 },
      createdAtMicros: Date.parse('2026-11-23T10:00:01.000Z') * 1000,
      eventId: '7de3041dd709b024af6f29e4fa13d34c',
      sequenceNumber: input.sequenceNumber,
      shardId: 'shardId-000000000001',
      payloadBytes: Buffer.from(data, 'base64').length,
    });
  });

  it('keeps an INSERT without OldImage, and names a TTL deletion the way Kinesis does', () => {
    const { OldImage: _old, ...insertStream } = modify.dynamodb ?? {};
    const insert = streamRecordToKds({ ...modify, eventName: 'INSERT', dynamodb: insertStream }, accounts);
    expect(insert.dynamodb).not.toHaveProperty('OldImage');
    const decodedInsert = decodeChangeRecord(
      { data: encodeKinesisPayload(insert), sequenceNumber: '1', shardId: 'shardId-000000000000' },
      { tableName: 'Accounts' },
    );
    expect(decodedInsert.ok && decodedInsert.record.kind).toBe('INSERT');

    const { NewImage: _new, ...removeStream } = modify.dynamodb ?? {};
    const ttl = { PrincipalId: 'dynamodb.amazonaws.com', Type: 'Service' };
    const remove = streamRecordToKds(
      { ...modify, eventName: 'REMOVE', userIdentity: ttl, dynamodb: removeStream },
      { tableName: 'Accounts' },
    );
    expect(remove.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
    expect(remove.dynamodb).not.toHaveProperty('NewImage');
    const decoded = decodeChangeRecord(
      { data: encodeKinesisPayload(remove), sequenceNumber: '2', shardId: 'shardId-000000000000' },
      { tableName: 'Accounts' },
    );
    expect(decoded.ok && { kind: decoded.record.kind, version: decoded.record.version, ttl: decoded.record.removedByTtl })
      .toEqual({ kind: 'REMOVE', version: 2, ttl: true });
  });

  it('writes binary attributes as base64, as on the wire, also inside maps and lists', () => {
    const bytes = new Uint8Array([0, 1, 2, 250]);
    const NewImage = {
      ...image(5, 1),
      blob: { B: bytes },
      nested: { M: { list: { L: [{ B: bytes }] } } },
      set: { BS: [bytes] },
    };
    const payload = streamRecordToKds({ ...modify, eventName: 'INSERT', dynamodb: { ...modify.dynamodb, NewImage } }, accounts);
    const json = JSON.parse(JSON.stringify(payload)) as typeof payload;
    expect(json.dynamodb.NewImage?.blob).toEqual({ B: 'AAEC+g==' });
    expect(json.dynamodb.NewImage?.nested).toEqual({ M: { list: { L: [{ B: 'AAEC+g==' }] } } });
    expect(json.dynamodb.NewImage?.set).toEqual({ BS: ['AAEC+g=='] });
  });

  it('throws for a record missing what every stream record has, rather than inventing it', () => {
    const { ApproximateCreationDateTime: _time, ...timeless } = modify.dynamodb ?? {};
    expect(() => streamRecordToKds({ ...modify, dynamodb: timeless }, accounts)).toThrow(TypeError);
    expect(() => streamRecordToKds({ ...modify, eventID: undefined }, accounts)).toThrow(TypeError);
  });

  it("takes a whole-minute stream time from the item's updated_at in that minute (DynamoDB Local rounds to the minute)", () => {
    const at = (stream: string, updatedAt?: string) =>
      streamRecordToKds(
        {
          ...modify,
          dynamodb: {
            ...modify.dynamodb,
            ApproximateCreationDateTime: new Date(stream),
            NewImage: { ...image(1200, 2), ...(updatedAt ? { updated_at: { S: updatedAt } } : {}) },
          },
        },
        accounts,
      ).dynamodb.ApproximateCreationDateTime;
    expect(at('2026-11-23T10:03:00.000Z', '2026-11-23T10:03:41.512Z')).toBe(Date.parse('2026-11-23T10:03:41.512Z') * 1000);
    // Outside that minute, or a stream time that is not a whole minute: the stream's own time stands.
    expect(at('2026-11-23T10:03:00.000Z', '2026-11-23T10:04:00.001Z')).toBe(Date.parse('2026-11-23T10:03:00.000Z') * 1000);
    expect(at('2026-11-23T10:03:07.000Z', '2026-11-23T10:03:41.512Z')).toBe(Date.parse('2026-11-23T10:03:07.000Z') * 1000);
    expect(at('2026-11-23T10:03:00.000Z')).toBe(Date.parse('2026-11-23T10:03:00.000Z') * 1000);
  });
});
