import { describe, expect, test } from 'vitest';
import { deliveryRight, homeDeadline, type RightView } from '../../shared/ordering/delivery-right';
import { emptyWatermark, type Watermark } from '../../shared/ordering/watermark';

const NOW = 1_800_000_000_000;
const LANE = 'shardId-000000000000';

function view(watermark: Partial<Watermark>, overrides: Partial<RightView> = {}): RightView {
  return {
    watermark: { ...emptyWatermark('A'), version: 4, ...watermark },
    version: 5,
    owner: 'engine-1',
    claimToken: undefined,
    storedHome: watermark.home,
    lane: LANE,
    readAt: NOW,
    now: NOW,
    deadline: undefined,
    reserveMs: 1_000,
    claimTtlMs: 60_000,
    homeBoundMs: 10_000,
    ...overrides,
  };
}

const ours = (expiresAt: number, through?: number) => ({ owner: 'engine-1', token: 't1', version: 5, expiresAt, ...(through ? { through } : {}) });

describe('deliveryRight', () => {
  test('an account with no home and no claim of ours is claimed first; nothing is started inside the reserve', () => {
    expect(deliveryRight(view({}))).toBe('take');
    expect(deliveryRight(view({}, { deadline: NOW + 999 }))).toBe('stop');
    expect(deliveryRight(view({}, { deadline: NOW + 1_999 }))).toBe('stop');
    expect(deliveryRight(view({}, { deadline: NOW + 2_000 }))).toBe('take');
  });

  test('our claim covering the version is held while it has time; renewed when short and renewable; stop otherwise', () => {
    expect(deliveryRight(view({ claim: ours(NOW + 60_000) }, { claimToken: 't1' }))).toBe('held');
    expect(deliveryRight(view({ claim: ours(NOW + 20_000) }, { claimToken: 't1' }))).toBe('take');
    // Short, but the deadline keeps a renewal from reaching further: use what is left.
    expect(deliveryRight(view({ claim: ours(NOW + 20_000) }, { claimToken: 't1', deadline: NOW + 15_000 }))).toBe('held');
    expect(deliveryRight(view({ claim: ours(NOW + 1_500) }, { claimToken: 't1', deadline: NOW + 1_500 }))).toBe('stop');
    // A claim of ours with another token (an earlier run of this engine) or not covering the version is not held.
    expect(deliveryRight(view({ claim: ours(NOW + 60_000) }, { claimToken: 't0' }))).toBe('take');
    expect(deliveryRight(view({ claim: ours(NOW + 60_000) }, { claimToken: 't1', version: 6 }))).toBe('take');
    expect(deliveryRight(view({ claim: ours(NOW + 60_000, 8) }, { claimToken: 't1', version: 8 }))).toBe('held');
  });

  test('the home lane delivers without a claim within its bound, and only once the home is written', () => {
    expect(deliveryRight(view({ home: LANE }))).toBe('home');
    expect(deliveryRight(view({ home: LANE }, { storedHome: undefined }))).toBe('take');
    // The bound runs from the read: with less than twice the reserve left, claim before going on.
    expect(deliveryRight(view({ home: LANE }, { now: NOW + 8_000 }))).toBe('home');
    expect(deliveryRight(view({ home: LANE }, { now: NOW + 8_001 }))).toBe('take');
  });

  test('another lane always parks; a side path parks while the home delivered lately and fences a home gone quiet', () => {
    const other = { home: 'shardId-000000000001' };
    expect(deliveryRight(view({ ...other, homeActiveAt: NOW - 9_999 }))).toBe('park');
    expect(deliveryRight(view({ ...other, homeActiveAt: NOW - 10_000 }))).toBe('park');
    expect(deliveryRight(view({ ...other }))).toBe('park');
    expect(deliveryRight(view({ ...other, homeActiveAt: NOW - 9_999 }, { lane: undefined }))).toBe('park');
    expect(deliveryRight(view({ ...other, homeActiveAt: NOW - 10_000 }, { lane: undefined }))).toBe('fence');
    expect(deliveryRight(view({ ...other }, { lane: undefined }))).toBe('fence');
  });
});

describe('homeDeadline', () => {
  test('is the home bound after the read, within the deadline', () => {
    expect(homeDeadline({ readAt: NOW, homeBoundMs: 10_000, deadline: undefined })).toBe(NOW + 10_000);
    expect(homeDeadline({ readAt: NOW, homeBoundMs: 10_000, deadline: NOW + 3_000 })).toBe(NOW + 3_000);
  });
});
