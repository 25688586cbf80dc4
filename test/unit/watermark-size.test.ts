import { describe, expect, test } from 'vitest';
import { itemSizeBytes } from '../support/item-size';
import type { AccountImage } from '../../shared/accounts/account';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { itemToWatermark, watermarkToItem } from '../../shared/ledger/ledger-codec';
import { LEDGER_NAME_PATTERN } from '../../shared/ledger/ledger-table';
import { skippedGap } from '../../shared/ordering/in-order-rules';
import { keepableImage } from '../../shared/ordering/stored-image';
import {
  MAX_HEAL_MARKS,
  MAX_RECENT_DELIVERIES,
  MAX_LAST_IMAGE_BYTES,
  MAX_RANGES,
  MAX_SKIP_NOTES,
  MAX_SKIP_REASON_LENGTH,
  MAX_WATERMARK_ITEM_BYTES,
} from '../../shared/ordering/limits';
import type { VersionRange } from '../../shared/ordering/version-ranges';
import { emptyWatermark, type Watermark } from '../../shared/ordering/watermark';


// The longest names the ledger accepts, and a 64-character account id.
const DESTINATION = `destination-name-63-chars-${'d'.repeat(63 - 26)}`;
const EPOCH = `epoch-replay-2026-11-23T00.00.00Z-${'e'.repeat(63 - 34)}`;
const ACCOUNT_ID = `account-${'a'.repeat(56)}`;
/** 16-digit versions: the most any version (a positive safe integer) takes. */
const BASE = 9_000_000_000_000_000;
const NOW = 1_800_000_000_000;
const OWNER = 'f47ac10b-58cc-4372-a567-0e02b2c3d479';

/** MAX_RANGES ranges of two 16-digit versions each, none adjacent. */
const fullRanges = (offset: number): VersionRange[] =>
  Array.from({ length: MAX_RANGES }, (_, index): VersionRange => [BASE + offset + index * 10, BASE + offset + index * 10 + 5]);

/** The longest reason `skippedGap` keeps, in 3-byte UTF-8 characters. */
const WORST_REASON = (skippedGap(emptyWatermark(ACCOUNT_ID), 1, '€'.repeat(10 * MAX_SKIP_REASON_LENGTH), NOW) as Watermark).skips[0]!.reason;

function recordWith(image: AccountImage): ChangeRecord {
  return {
    accountId: ACCOUNT_ID, version: image.version, previousVersion: image.version - 1, kind: 'MODIFY', newImage: image,
    createdAtMicros: NOW * 1000, eventId: 'e', sequenceNumber: 's', shardId: 'shardId-000000000000',
  };
}

/** The biggest image `keepableImage` keeps: an account whose memo (3-byte characters) brings it just under MAX_LAST_IMAGE_BYTES. */
function largestKeptImage(): AccountImage {
  const image = (length: number): AccountImage => ({
    account_id: ACCOUNT_ID, balance: 9_007_199_254_740_991, currency: 'AUD', status: 'OPEN', version: BASE, opened_at: '2026-01-01T00:00:00.000000Z',
    updated_at: '2026-11-23T00:00:00.000000Z',
    last_change: { type: 'TRANSFER_OUT', amount: 9_007_199_254_740_991, reference: 'r'.repeat(64), counterparty: 'c'.repeat(64) },
    memo: '€'.repeat(length),
  });
  let low = 0;
  let high = MAX_LAST_IMAGE_BYTES;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (keepableImage(recordWith(image(middle)).newImage) !== undefined) low = middle;
    else high = middle - 1;
  }
  return image(low);
}

/** Everything the limits allow, at once. */
function worstCase(lastImage: AccountImage): Watermark {
  return {
    accountId: ACCOUNT_ID,
    version: BASE + 20 * MAX_RANGES,
    revision: 9_007_199_254_740_991,
    ahead: fullRanges(30 * MAX_RANGES),
    parked: fullRanges(30 * MAX_RANGES + 1),
    owed: fullRanges(30 * MAX_RANGES + 2),
    skipped: fullRanges(0),
    lastImage,
    lastKind: 'MODIFY',
    newestCreatedAt: 1_800_000_000_123_456,
    heals: Array.from({ length: MAX_HEAL_MARKS }, (_, index) => ({ version: BASE + index, digest: 'v2:0123456789abcdef' })),
    recent: Array.from({ length: MAX_RECENT_DELIVERIES }, (_, index) => ({ version: BASE + index, createdAt: 9_007_199_254_740_991 - index, kind: 'REMOVE' as const })),
    skips: Array.from({ length: MAX_SKIP_NOTES }, (_, index) => ({
      from: BASE + index * 10,
      to: BASE + index * 10 + 9,
      reason: WORST_REASON,
      at: NOW + index,
    })),
    // The engine's owner is a random UUID by default; its fencing tokens are `<owner>:<n>`.
    claim: { owner: OWNER, token: `${OWNER}:9007199254740991`, version: BASE + 1, through: BASE + 99_999, expiresAt: NOW + 60_000 },
    // A home lane is a shard id (Kinesis allows up to 128 characters), or with a parallelizationFactor above 1 that,
    // the factor and a partition key (up to 256 characters).
    home: `${'shardId-'.padEnd(128, '9')}/pf10/${'k'.repeat(256)}`,
    homeActiveAt: NOW,
    homeCandidate: `${'shardId-'.padEnd(128, '8')}/pf10/${'j'.repeat(256)}`,
    gapSince: NOW - 1,
    gapNotice: { from: BASE + 1, to: BASE + 9_999, at: NOW },
    floor: BASE,
    updatedAt: NOW,
  };
}

describe('itemSizeBytes', () => {
  test('counts names and values by the DynamoDB rules', () => {
    expect(itemSizeBytes({ a: { S: 'x€' } })).toBe(1 + 4);
    expect(itemSizeBytes({ n: { N: '12345' } })).toBe(1 + 4);
    expect(itemSizeBytes({ n: { N: '-0.0012300' } })).toBe(1 + 3);
    expect(itemSizeBytes({ b: { BOOL: true }, z: { NULL: true } })).toBe(4);
    expect(itemSizeBytes({ l: { L: [{ S: 'ab' }, { N: '1' }] } })).toBe(1 + 3 + 2 + 2 + 2);
    expect(itemSizeBytes({ m: { M: { k: { S: 'ab' } } } })).toBe(1 + 3 + 1 + 1 + 2);
  });
});

describe('the worst-case watermark item', () => {
  const image = largestKeptImage();
  const w = worstCase(image);

  test('is built from the limits: names the ledger accepts, full version sets and lists, the biggest kept image', () => {
    expect([DESTINATION.length, EPOCH.length, ACCOUNT_ID.length]).toEqual([63, 63, 64]);
    expect(LEDGER_NAME_PATTERN.test(DESTINATION) && LEDGER_NAME_PATTERN.test(EPOCH)).toBe(true);
    expect([w.ahead, w.parked, w.owed, w.skipped].map((set) => set.length)).toEqual([MAX_RANGES, MAX_RANGES, MAX_RANGES, MAX_RANGES]);
    expect([w.heals.length, w.skips.length, WORST_REASON.length]).toEqual([MAX_HEAL_MARKS, MAX_SKIP_NOTES, MAX_SKIP_REASON_LENGTH]);
    expect(String(BASE)).toHaveLength(16);
    const bigger = { ...image, memo: `${image.memo as string}€` };
    expect([keepableImage(recordWith(image).newImage), keepableImage(recordWith(bigger).newImage)]).toEqual([image, undefined]);
  });

  test(`stays below MAX_WATERMARK_ITEM_BYTES (${MAX_WATERMARK_ITEM_BYTES}) as DynamoDB counts it`, () => {
    const size = itemSizeBytes(watermarkToItem(DESTINATION, EPOCH, w));
    expect(size).toBeGreaterThan(50_000);
    expect(size).toBeLessThan(MAX_WATERMARK_ITEM_BYTES);
  });

  test('round-trips exactly through the ledger codec', () => {
    expect(itemToWatermark(watermarkToItem(DESTINATION, EPOCH, w))).toStrictEqual(w);
  });

  test('an empty watermark round-trips too, and writes no empty sets, lists or gap index attributes', () => {
    const empty = emptyWatermark(ACCOUNT_ID);
    const item = watermarkToItem(DESTINATION, EPOCH, empty);
    expect(Object.keys(item).sort()).toEqual(['account_id', 'destination', 'epoch', 'pk', 'revision', 'sk', 'updated_at', 'watermark']);
    expect(itemToWatermark(item)).toStrictEqual(empty);
  });

  test('stays below the bound when the kept image has non-ASCII attribute names', () => {
    const { memo: _memo, ...plain } = image;
    const wideName = (index: number): string => `${'€'.repeat(500)}${index}`;
    const names: Record<string, number> = {};
    for (let index = 0; keepableImage(recordWith({ ...plain, ...names, [wideName(index)]: 0 }).newImage); index += 1) names[wideName(index)] = 0;
    const wide: AccountImage = { ...plain, ...names };
    expect(keepableImage(recordWith(wide).newImage)).toBe(wide);
    expect(itemSizeBytes(watermarkToItem(DESTINATION, EPOCH, worstCase(wide)))).toBeLessThan(MAX_WATERMARK_ITEM_BYTES);
  });
});
