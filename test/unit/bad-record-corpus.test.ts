import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidVersion } from '../../shared/accounts/account';
import { BAD_RECORD_REASONS, isBadRecordReason, type BadRecordReason } from '../../shared/change-record/bad-record';
import { decodeChangeRecord, type DecodeOptions, type DecodeResult } from '../../shared/change-record/decode';
import { encodeKinesisPayload } from '../../shared/change-record/kinesis-input';

const accounts: DecodeOptions = { tableName: 'Accounts' };
const b64 = (text: string | Uint8Array) => Buffer.from(text).toString('base64');

type Attribute = Record<string, unknown>;
type Payload = Record<string, unknown> & { dynamodb: Record<string, unknown> };

const image = (version: Attribute | undefined, extra: Record<string, Attribute> = {}): Record<string, Attribute> => ({
  account_id: { S: 'ACC-5' },
  balance: { N: '100' },
  currency: { S: 'AUD' },
  status: { S: 'OPEN' },
  ...(version === undefined ? {} : { version }),
  ...extra,
});
const n = (value: string | number) => ({ N: String(value) });

function change(eventName: string, newImage?: object, oldImage?: object): Payload {
  return {
    awsRegion: 'ap-southeast-2',
    eventID: `event-${eventName}`,
    eventName,
    userIdentity: null,
    recordFormat: 'application/json',
    tableName: 'Accounts',
    dynamodb: {
      ApproximateCreationDateTime: 1795392000123456,
      Keys: { account_id: { S: 'ACC-5' } },
      ...(newImage === undefined ? {} : { NewImage: newImage }),
      ...(oldImage === undefined ? {} : { OldImage: oldImage }),
      SizeBytes: 100,
      ApproximateCreationDateTimePrecision: 'MICROSECOND',
    },
    eventSource: 'aws:dynamodb',
  };
}
const insert = (version: Attribute | undefined) => change('INSERT', image(version));
const modify = (from: Attribute | undefined, to: Attribute | undefined) => change('MODIFY', image(to), image(from));
const remove = (from: Attribute | undefined) => change('REMOVE', undefined, image(from));
const edit = (payload: Payload, mutate: (p: Payload) => void): Payload => {
  const copy = structuredClone(payload);
  mutate(copy);
  return copy;
};
/** A good INSERT of ACC-5 v1 with one field of its dynamodb section replaced (undefined removes it). */
const stream = (field: string, value: unknown) =>
  edit(insert(n(1)), (p) => (value === undefined ? delete p.dynamodb[field] : (p.dynamodb[field] = value)));
/** A good INSERT of ACC-5 v1 whose NewImage has some attributes replaced. */
const inserted = (extra: Record<string, Attribute>) => change('INSERT', image(n(1), extra));

interface Entry {
  readonly name: string;
  readonly data: string;
  readonly reason: BadRecordReason;
  readonly accountId?: string;
  readonly version?: number;
  readonly options?: DecodeOptions;
}
const entry = (name: string, payload: object, reason: BadRecordReason, known: Partial<Entry> = {}): Entry => ({
  name,
  data: encodeKinesisPayload(payload),
  reason,
  ...known,
});
const acc = { accountId: 'ACC-5' };
const at = (version: number) => ({ accountId: 'ACC-5', version });

const corpus: Entry[] = [
  { name: 'not base64 at all', data: 'not base64!!', reason: 'NOT_BASE64' },
  { name: 'length not a multiple of 4', data: 'eyJhIjoxfQ=', reason: 'NOT_BASE64' },
  { name: 'missing padding', data: 'eyJhIjoxfQ', reason: 'NOT_BASE64' },
  { name: 'wrong padding', data: 'QQ=', reason: 'NOT_BASE64' },
  { name: 'base64url alphabet', data: 'eyJ-_w==', reason: 'NOT_BASE64' },
  { name: 'embedded newline', data: 'eyJh\nIjoxfQ==', reason: 'NOT_BASE64' },
  { name: 'empty data (zero bytes)', data: '', reason: 'NOT_JSON' },
  { name: 'plain text', data: b64('hello'), reason: 'NOT_JSON' },
  { name: 'invalid UTF-8', data: b64(new Uint8Array([0xff, 0xfe, 0x7b])), reason: 'NOT_JSON' },
  { name: 'truncated JSON', data: b64('{"eventName":'), reason: 'NOT_JSON' },
  { name: 'JSON array', data: b64('[1,2]'), reason: 'NOT_DYNAMODB_EVENT' },
  { name: 'JSON null', data: b64('null'), reason: 'NOT_DYNAMODB_EVENT' },
  entry('eventSource aws:kinesis', { ...insert(n(1)), eventSource: 'aws:kinesis' }, 'NOT_DYNAMODB_EVENT'),
  entry('no dynamodb section', { ...insert(n(1)), dynamodb: undefined }, 'NOT_DYNAMODB_EVENT'),
  entry('dynamodb section is a string', { ...insert(n(1)), dynamodb: 'x' }, 'NOT_DYNAMODB_EVENT'),
  entry('no eventID', { ...insert(n(1)), eventID: undefined }, 'NOT_DYNAMODB_EVENT'),
  entry('another table', { ...insert(n(1)), tableName: 'Orders' }, 'WRONG_TABLE'),
  entry('no table name', { ...insert(n(1)), tableName: undefined }, 'WRONG_TABLE'),
  entry('unknown event name', { ...insert(n(1)), eventName: 'UPSERT' }, 'UNKNOWN_EVENT_NAME', acc),
  entry('no Keys', stream('Keys', undefined), 'MISSING_ACCOUNT_ID'),
  entry('key is named id', stream('Keys', { id: { S: 'ACC-5' } }), 'MISSING_ACCOUNT_ID'),
  entry('key is a number', stream('Keys', { account_id: n(5) }), 'MISSING_ACCOUNT_ID'),
  entry('key is empty', stream('Keys', { account_id: { S: '' } }), 'MISSING_ACCOUNT_ID'),
  entry('key is not an attribute', stream('Keys', { account_id: 5 }), 'MISSING_ACCOUNT_ID'),
  entry('key longer than DynamoDB allows', stream('Keys', { account_id: { S: '账'.repeat(683) } }), 'MISSING_ACCOUNT_ID'),
  entry('image of another account', inserted({ account_id: { S: 'ACC-6' } }), 'NOT_AN_ACCOUNT', at(1)),
  entry('no balance', inserted({ balance: undefined as unknown as Attribute }), 'NOT_AN_ACCOUNT', at(1)),
  entry('fractional balance', inserted({ balance: n('10.5') }), 'NOT_AN_ACCOUNT', at(1)),
  entry('string balance', inserted({ balance: { S: '10' } }), 'NOT_AN_ACCOUNT', at(1)),
  entry('balance beyond safe integers', inserted({ balance: n('9007199254740993') }), 'NOT_AN_ACCOUNT', at(1)),
  entry('unmarshall throws', inserted({ balance: n('9007199254740993.5') }), 'NOT_AN_ACCOUNT', at(1)),
  entry('unknown attribute type', inserted({ note: { X: '1' } }), 'NOT_AN_ACCOUNT', at(1)),
  entry('unknown status', inserted({ status: { S: 'FROZEN' } }), 'NOT_AN_ACCOUNT', at(1)),
  entry('image is a string', change('INSERT', 'ACC-5' as unknown as object), 'NOT_AN_ACCOUNT', acc),
  entry('INSERT without NewImage', change('INSERT'), 'MISSING_NEW_IMAGE', acc),
  entry('MODIFY without NewImage', change('MODIFY', undefined, image(n(3))), 'MISSING_NEW_IMAGE', acc),
  entry('MODIFY without OldImage', change('MODIFY', image(n(4))), 'MISSING_OLD_IMAGE', at(4)),
  entry('REMOVE without OldImage', change('REMOVE'), 'REMOVE_WITHOUT_OLD_IMAGE', acc),
  entry('REMOVE with only a NewImage', change('REMOVE', image(n(3))), 'REMOVE_WITHOUT_OLD_IMAGE', acc),
  entry('INSERT without version', insert(undefined), 'VERSION_MISSING', acc),
  entry('MODIFY whose old image has no version', modify(undefined, n(4)), 'VERSION_MISSING', at(4)),
  entry('REMOVE whose old image has no version', remove(undefined), 'VERSION_MISSING', acc),
  entry('version 1.5', insert(n('1.5')), 'VERSION_NOT_INTEGER', acc),
  entry('version S-typed "3"', insert({ S: '3' }), 'VERSION_NOT_INTEGER', acc),
  entry('version 9007199254740993', insert(n('9007199254740993')), 'VERSION_NOT_INTEGER', acc),
  entry('version beyond safe range and fractional', insert(n('9007199254740993.5')), 'VERSION_NOT_INTEGER', acc),
  entry('version NaN', insert(n('NaN')), 'VERSION_NOT_INTEGER', acc),
  entry('version Infinity', insert(n('1e400')), 'VERSION_NOT_INTEGER', acc),
  entry('version BOOL', insert({ BOOL: true }), 'VERSION_NOT_INTEGER', acc),
  entry('version NULL', insert({ NULL: true }), 'VERSION_NOT_INTEGER', acc),
  entry('MODIFY old version 2.5', modify(n('2.5'), n(3)), 'VERSION_NOT_INTEGER', at(3)),
  entry('version -1', insert(n(-1)), 'VERSION_NOT_POSITIVE', acc),
  entry('version 0', insert(n(0)), 'VERSION_NOT_POSITIVE', acc),
  entry('REMOVE of version 0', remove(n(0)), 'VERSION_NOT_POSITIVE', acc),
  entry('MODIFY 3 to 3', modify(n(3), n(3)), 'VERSION_NOT_INCREASING', at(3)),
  entry('MODIFY 3 to 2', modify(n(3), n(2)), 'VERSION_NOT_INCREASING', at(2)),
  entry('MODIFY 3 to 5', modify(n(3), n(5)), 'VERSION_JUMP', at(5)),
  entry('MODIFY 1 to 9', modify(n(1), n(9)), 'VERSION_JUMP', at(9)),
  entry('no creation time', stream('ApproximateCreationDateTime', undefined), 'BAD_CREATION_TIME', at(1)),
  entry('creation time as a string', stream('ApproximateCreationDateTime', '1795392000'), 'BAD_CREATION_TIME', at(1)),
  entry('creation time 0', stream('ApproximateCreationDateTime', 0), 'BAD_CREATION_TIME', at(1)),
  entry('negative creation time', stream('ApproximateCreationDateTime', -5), 'BAD_CREATION_TIME', at(1)),
  entry('unknown precision', stream('ApproximateCreationDateTimePrecision', 'NANO'), 'BAD_CREATION_TIME', at(1)),
  entry('ms precision on µs', stream('ApproximateCreationDateTimePrecision', 'MILLISECOND'), 'BAD_CREATION_TIME', at(1)),
  { ...entry('caller passes no options', insert(n(1)), 'UNDECODABLE', {}), options: null as unknown as DecodeOptions },
];

const SHARD = 'shardId-000000000001';
const inputOf = (data: string, index: number) => ({ data, sequenceNumber: `seq-${index}`, shardId: SHARD });

describe('bad-record corpus', () => {
  it('covers every reason', () => {
    expect(new Set(corpus.map((e) => e.reason))).toEqual(new Set(BAD_RECORD_REASONS));
  });

  it.each(corpus.map((e, index) => [e.name, e.reason, e, index] as const))('%s → %s', (_name, _reason, e, index) => {
    let result: DecodeResult | undefined;
    const options = e.options === undefined ? accounts : e.options;
    expect(() => (result = decodeChangeRecord(inputOf(e.data, index), options))).not.toThrow();
    if (result === undefined || result.ok) throw new Error(`expected ${e.reason}, got ${JSON.stringify(result)}`);
    const { bad } = result;
    expect(bad.reason).toBe(e.reason);
    expect(bad.detail.length).toBeGreaterThan(10);
    expect(bad.accountId).toBe(e.accountId);
    expect(bad.version).toBe(e.version);
    expect(bad.data).toBe(e.data);
    expect([bad.sequenceNumber, bad.shardId]).toEqual([`seq-${index}`, SHARD]);
  });

  it('carries the tombstone version on a bad REMOVE whose old version was readable', () => {
    const payload = change('REMOVE', undefined, image(n(3), { status: { S: 'GONE' } }));
    const result = decodeChangeRecord(inputOf(encodeKinesisPayload(payload), 0), accounts);
    expect(result).toMatchObject({ ok: false, bad: { reason: 'NOT_AN_ACCOUNT', accountId: 'ACC-5', version: 4 } });
  });

  it('decodes a mixed batch of 30 without throwing or losing a record', () => {
    const chain = Array.from({ length: 15 }, (_, i) => (i === 0 ? insert(n(1)) : modify(n(i), n(i + 1))));
    const good = chain.map(encodeKinesisPayload);
    const bad = corpus.filter((e) => e.options === undefined).filter((_, i) => i % 4 === 0).slice(0, 15);
    expect(bad).toHaveLength(15);
    const batch = Array.from({ length: 30 }, (_, i) => (i % 2 ? { bad: bad[(i - 1) / 2]! } : { good: good[i / 2]! }));

    const results = batch.map((item, i) => decodeChangeRecord(inputOf(item.good ?? item.bad!.data, i), accounts));

    const decoded = results.filter((r) => r.ok);
    const rejected = results.flatMap((r) => (r.ok ? [] : [r.bad]));
    expect(decoded.length + rejected.length).toBe(30);
    expect(decoded.map((r) => r.record.version)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    batch.forEach((item, i) => {
      const result = results[i]!;
      expect(result.ok).toBe(item.good !== undefined);
      if (!result.ok) expect(result.bad.reason).toBe(item.bad!.reason);
    });
    expect(rejected.every((b) => isBadRecordReason(b.reason))).toBe(true);
  });

  it('never throws and always answers with a record or a known reason, whatever the data', () => {
    const attribute = fc.oneof(
      fc.record({ N: fc.oneof(fc.integer({ min: -2, max: 4 }).map(String), fc.string()) }),
      fc.record({ S: fc.string() }),
      fc.jsonValue(),
    );
    const maybeImage = fc.oneof(
      fc.record({
        account_id: fc.constant({ S: 'ACC-5' }),
        balance: fc.oneof(fc.constant({ N: '100' }), attribute),
        version: fc.oneof(fc.integer({ min: 1, max: 3 }).map(n), attribute),
      }),
      fc.jsonValue(),
      fc.constant(undefined),
    );
    const precision = fc.option(fc.oneof(fc.constantFrom('MICROSECOND', 'MILLISECOND'), fc.string()));
    const nearPayload = fc
      .record({
        eventName: fc.constantFrom('INSERT', 'MODIFY', 'REMOVE', 'OTHER'),
        Keys: fc.oneof(fc.constant({ account_id: { S: 'ACC-5' } }), fc.jsonValue()),
        NewImage: maybeImage,
        OldImage: maybeImage,
        ApproximateCreationDateTime: fc.oneof(fc.double(), fc.integer(), fc.jsonValue()),
        ApproximateCreationDateTimePrecision: precision,
      })
      .map(({ eventName, ...dynamodb }) => encodeKinesisPayload({ ...change(eventName), dynamodb }));
    const data = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.uint8Array({ maxLength: 300 }).map(b64),
      fc.jsonValue().map((value) => b64(JSON.stringify(value) ?? '')),
      nearPayload,
    );

    fc.assert(
      fc.property(data, (input) => {
        const result = decodeChangeRecord(inputOf(input, 0), accounts);
        if (result.ok) return isValidVersion(result.record.version) && result.record.accountId === 'ACC-5';
        return isBadRecordReason(result.bad.reason) && result.bad.data === input;
      }),
      { numRuns: 1000 },
    );
  });
  it('accepts exactly the padded standard-alphabet base64 the pattern describes', () => {
    // The decoder checks base64 without this pattern (it cost a microsecond a record); the verdicts must be the same.
    const PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
    const char = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...'ABCQRZaz09+/') },
      { weight: 2, arbitrary: fc.constantFrom('=', '-', '_', ' ', '\n', '*', '.', '\u0000', '€', '\uD83D') },
    );
    const text = fc.oneof(
      fc.array(char, { maxLength: 16 }).map((chars) => chars.join('')),
      fc.uint8Array({ maxLength: 40 }).map(b64),
      fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }).map(b64), fc.nat(), char).map(([base, at, c]) => {
        const index = at % base.length;
        return base.slice(0, index) + c + base.slice(index + 1);
      }),
    );
    fc.assert(
      fc.property(text, (data) => {
        const result = decodeChangeRecord(inputOf(data, 0), accounts);
        const rejectedAsBase64 = !result.ok && result.bad.reason === 'NOT_BASE64';
        return rejectedAsBase64 === !PATTERN.test(data);
      }),
      { numRuns: 5000 },
    );
  });
});
