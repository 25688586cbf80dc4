import { marshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { AccountImage } from '../../shared/accounts/account';
import { decodeChangeRecord } from '../../shared/change-record/decode';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { keepableImage } from '../../shared/ordering/stored-image';
import { MAX_LAST_IMAGE_BYTES } from '../../shared/ordering/limits';
import { valueSize } from '../support/item-size';
import { harness } from '../support/engine-harness';
import { kdsRecord } from '../support/kds-payload';

const TABLE = 'Accounts';
const payloadBytes = (input: KinesisRecordInput) => Buffer.from(input.data, 'base64').length;
/** What the image costs stored as the ledger stores it: a map attribute of the watermark item. */
const storedBytes = (image: AccountImage) => valueSize({ M: marshall(image, { removeUndefinedValues: true, convertClassInstanceToMap: true }) });

function decoded(input: KinesisRecordInput) {
  const result = decodeChangeRecord(input, { tableName: TABLE });
  if (!result.ok) throw new Error(`${result.bad.reason}: ${result.bad.detail}`);
  return result.record;
}

const base = (version: number, extra: Record<string, unknown> = {}): AccountImage =>
  ({ account_id: 'acc-1', balance: 100, status: 'OPEN', version, ...extra }) as AccountImage;

// Attribute values of every DynamoDB type the decoder unmarshalls, the number-heavy and multi-byte ones included:
// those are where the JSON text is shortest against the stored size.
const scalar = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e15, max: 1e15 }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary', minLength: 1 }),
  fc.boolean(),
  fc.constant(null),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie('value'), { maxKeys: 5 }).map((map) => ({ ...map })),
    fc.uniqueArray(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 5 }).map((members) => new Set(members)),
    fc.uniqueArray(fc.integer(), { minLength: 1, maxLength: 5 }).map((members) => new Set(members)),
    fc.uint8Array({ minLength: 1, maxLength: 16 }),
  ),
}));
const extras = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 12 }).filter((name) => !['account_id', 'balance', 'status', 'version'].includes(name)),
  value,
  { maxKeys: 12 },
).map((map) => ({ ...map }));

describe('payloadBytes: the decoder bounds each image by its payload', () => {
  test('is the UTF-8 bytes of the Kinesis data, whatever the kind', () => {
    for (const change of [
      { kind: 'INSERT' as const, newImage: base(1) },
      { kind: 'MODIFY' as const, oldImage: base(1), newImage: base(2, { balance: 150, memo: 'é€😀' }) },
      { kind: 'REMOVE' as const, oldImage: base(3) },
    ]) {
      const input = kdsRecord({ ...change, tableName: TABLE }, { sequenceNumber: '1' });
      expect(decoded(input).payloadBytes).toBe(payloadBytes(input));
    }
  });

  test('no image takes more stored than the payload it came in (so the bound is safe)', () => {
    fc.assert(
      fc.property(extras, fc.constantFrom('INSERT', 'MODIFY', 'REMOVE') as fc.Arbitrary<'INSERT' | 'MODIFY' | 'REMOVE'>, (extra, kind) => {
        const image = base(2, extra);
        const input = kdsRecord(
          { kind, tableName: TABLE, ...(kind !== 'REMOVE' ? { newImage: image } : {}), ...(kind !== 'INSERT' ? { oldImage: kind === 'REMOVE' ? image : base(1) } : {}) },
          { sequenceNumber: '1' },
        );
        const result = decodeChangeRecord(input, { tableName: TABLE });
        if (!result.ok) return; // a value unmarshall cannot read: a bad record, with no image to keep
        const { newImage, oldImage, payloadBytes: bound } = result.record;
        for (const kept of [newImage, oldImage]) if (kept !== undefined) expect(storedBytes(kept)).toBeLessThanOrEqual(bound as number);
      }),
      { numRuns: 1_000 },
    );
  });
});

// 700 small numbers: about 11 KB of payload, but 24 estimated bytes a number (an estimate that does not know better).
const numbers = Object.fromEntries(Array.from({ length: 700 }, (_, index) => [`n${index}`, index % 10]));

describe('keepableImage', () => {
  test('keeps an image whose bound is within the limit without estimating it; without a bound it estimates', () => {
    const input = kdsRecord({ kind: 'INSERT', newImage: base(1, numbers), tableName: TABLE }, { sequenceNumber: '1' });
    const record = decoded(input);
    const image = record.newImage as AccountImage;
    expect(record.payloadBytes).toBeLessThanOrEqual(MAX_LAST_IMAGE_BYTES);
    expect(storedBytes(image)).toBeLessThanOrEqual(MAX_LAST_IMAGE_BYTES);
    expect(keepableImage(image, record.payloadBytes)).toBe(image);
    // The estimate alone refuses it.
    expect(keepableImage(image)).toBeUndefined();
  });

  test('a bound over the limit does not condemn a small image: the estimate decides', () => {
    // A MODIFY whose old image is big and whose new image is small.
    const big = base(1, { memo: 'x'.repeat(MAX_LAST_IMAGE_BYTES) });
    const record = decoded(kdsRecord({ kind: 'MODIFY', oldImage: big, newImage: base(2), tableName: TABLE }, { sequenceNumber: '1' }));
    expect(record.payloadBytes).toBeGreaterThan(MAX_LAST_IMAGE_BYTES);
    expect(keepableImage(record.newImage, record.payloadBytes)).toBe(record.newImage);
    expect(keepableImage(record.oldImage, record.payloadBytes)).toBeUndefined();
  });
});

describe('a ledger write keeps the image of the record it came from by that record\'s payload', () => {
  const modes: DeliveryMode[] = ['every-version', 'in-order'];
  for (const mode of modes) {
    test(`${mode}: kept by the payload's bound, and dropped by the estimate when the record has none`, async () => {
      const record = decoded(kdsRecord({ kind: 'INSERT', newImage: base(1, numbers), tableName: TABLE }, { sequenceNumber: '1' }));
      const stored = async (input: ChangeRecord) => {
        const h = harness(mode);
        await h.engine.process([input], { lane: input.shardId });
        expect(h.destination.received.map((change) => change.version)).toEqual([1]);
        return (await h.ledger.load(['acc-1'])).get('acc-1')?.lastImage;
      };
      expect(await stored(record)).toBe(record.newImage);
      const { payloadBytes: _dropped, ...unbounded } = record;
      expect(await stored(unbounded)).toBeUndefined();
    });
  }
});
