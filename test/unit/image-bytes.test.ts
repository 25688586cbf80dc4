import { marshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { AccountImage } from '../../shared/accounts/account';
import { decodeChangeRecord, type KinesisRecordInput } from '../../shared/change-record/decode';
import { knownImageBytes } from '../../shared/change-record/image-bytes';
import { keepableImage } from '../../shared/ordering/in-order-rules';
import { MAX_LAST_IMAGE_BYTES } from '../../shared/ordering/limits';
import { valueSize } from '../support/item-size';
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

describe('the decoder bounds each image by its payload', () => {
  test('both images of a MODIFY, and the old image of a REMOVE, are noted with the payload bytes', () => {
    const modify = kdsRecord({ kind: 'MODIFY', oldImage: base(1), newImage: base(2, { balance: 150 }), tableName: TABLE }, { sequenceNumber: '1' });
    const record = decoded(modify);
    expect(knownImageBytes(record.newImage as AccountImage)).toBe(payloadBytes(modify));
    expect(knownImageBytes(record.oldImage as AccountImage)).toBe(payloadBytes(modify));
    const remove = kdsRecord({ kind: 'REMOVE', oldImage: base(3), tableName: TABLE }, { sequenceNumber: '2' });
    expect(knownImageBytes(decoded(remove).oldImage as AccountImage)).toBe(payloadBytes(remove));
  });

  test('a copy of a decoded image, or an image made elsewhere (a heal), is not covered', () => {
    const record = decoded(kdsRecord({ kind: 'INSERT', newImage: base(1), tableName: TABLE }, { sequenceNumber: '1' }));
    expect(knownImageBytes({ ...(record.newImage as AccountImage) })).toBeUndefined();
    expect(knownImageBytes(base(1))).toBeUndefined();
  });

  test('an image never takes more stored than the payload it came in (so the bound is safe)', () => {
    fc.assert(
      fc.property(extras, fc.constantFrom('INSERT', 'MODIFY', 'REMOVE') as fc.Arbitrary<'INSERT' | 'MODIFY' | 'REMOVE'>, (extra, kind) => {
        const image = base(2, extra);
        const input = kdsRecord(
          { kind, tableName: TABLE, ...(kind !== 'REMOVE' ? { newImage: image } : {}), ...(kind !== 'INSERT' ? { oldImage: kind === 'REMOVE' ? image : base(1) } : {}) },
          { sequenceNumber: '1' },
        );
        const result = decodeChangeRecord(input, { tableName: TABLE });
        if (!result.ok) return; // a value unmarshall cannot read: a bad record, with no image to keep
        const kept = (kind === 'REMOVE' ? result.record.oldImage : result.record.newImage) as AccountImage;
        expect(storedBytes(kept)).toBeLessThanOrEqual(knownImageBytes(kept) as number);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('keepableImage', () => {
  // 700 small numbers: about 11 KB of payload, but 24 estimated bytes a number (an estimate that does not know).
  const numbers = Object.fromEntries(Array.from({ length: 700 }, (_, index) => [`n${index}`, index % 10]));

  test('keeps a decoded image within the bound without estimating it, and estimates a copy', () => {
    const input = kdsRecord({ kind: 'INSERT', newImage: base(1, numbers), tableName: TABLE }, { sequenceNumber: '1' });
    expect(payloadBytes(input)).toBeLessThanOrEqual(MAX_LAST_IMAGE_BYTES);
    const image = decoded(input).newImage as AccountImage;
    expect(storedBytes(image)).toBeLessThanOrEqual(MAX_LAST_IMAGE_BYTES);
    expect(keepableImage(image)).toBe(image);
    // The same image not from the decoder falls back to the estimate, which refuses it.
    expect(keepableImage({ ...image })).toBeUndefined();
  });

  test('a payload over the bound does not condemn a small image: the estimate decides', () => {
    // A MODIFY whose old image is big and whose new image is small.
    const big = base(1, { memo: 'x'.repeat(MAX_LAST_IMAGE_BYTES) });
    const input = kdsRecord({ kind: 'MODIFY', oldImage: big, newImage: base(2), tableName: TABLE }, { sequenceNumber: '1' });
    const record = decoded(input);
    expect(knownImageBytes(record.newImage as AccountImage)).toBeGreaterThan(MAX_LAST_IMAGE_BYTES);
    expect(keepableImage(record.newImage)).toBe(record.newImage);
    expect(keepableImage(record.oldImage)).toBeUndefined();
  });
});
