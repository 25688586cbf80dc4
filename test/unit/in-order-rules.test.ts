import { describe, expect, test } from 'vitest';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { advance, deadLettered, nextInOrderStep, type InOrderView } from '../../shared/ordering/in-order-rules';
import { emptyWatermark, type Watermark } from '../../shared/ordering/watermark';
import { accountHistory } from '../support/histories';

const history = accountHistory('A', 6);
const record = (version: number): ChangeRecord => history[version - 1] as ChangeRecord;

function view(overrides: Partial<InOrderView> & { inHand?: number[]; parkedUnloaded?: number[] }): InOrderView {
  const inHand = new Set(overrides.inHand ?? []);
  const unloaded = new Set(overrides.parkedUnloaded ?? []);
  const lowest = [...inHand].sort((a, b) => a - b)[0];
  return {
    state: emptyWatermark('A'),
    owner: 'me',
    now: 1_000,
    baseline: 'from-version-1',
    waitedTooLong: false,
    available: (version) => (inHand.has(version) ? record(version) : undefined),
    parkedButNotLoaded: (version) => unloaded.has(version),
    lowestWaiting: () => (lowest === undefined ? undefined : record(lowest)),
    ...overrides,
  };
}

const at = (version: number, extra: Partial<Watermark> = {}): Watermark => ({
  ...emptyWatermark('A'),
  version,
  revision: 3,
  lastImage: record(version).newImage,
  ...extra,
});

describe('nextInOrderStep', () => {
  test('delivers the next version when it is in hand', () => {
    expect(nextInOrderStep(view({ state: at(2), inHand: [4, 3] }))).toMatchObject({ kind: 'deliver', healed: false, record: { version: 3 } });
  });

  test('waits while another engine holds a live claim, even with the next version in hand', () => {
    const claimed = at(2, { claim: { owner: 'other', version: 3, expiresAt: 2_000 } });
    expect(nextInOrderStep(view({ state: claimed, inHand: [3] })).kind).toBe('wait');
    expect(nextInOrderStep(view({ state: claimed, inHand: [3], now: 2_001 })).kind).toBe('deliver');
  });

  test('heals a single missing version from its successor', () => {
    expect(nextInOrderStep(view({ state: at(2), inHand: [4] }))).toMatchObject({ kind: 'deliver', healed: true, record: { version: 3 } });
  });

  test('does not heal a version that waits in the dead-letter queue', () => {
    expect(nextInOrderStep(view({ state: at(2, { deadLettered: [3] }), inHand: [4] })).kind).toBe('wait');
  });

  test('loads parked records before deciding about versions it does not hold', () => {
    expect(nextInOrderStep(view({ state: at(2, { parked: [3] }), parkedUnloaded: [3] })).kind).toBe('load-parked');
  });

  test('waits behind a gap of two, then after the gap age times out or, for an account never started, baselines', () => {
    expect(nextInOrderStep(view({ state: at(2), inHand: [5] })).kind).toBe('wait');
    expect(nextInOrderStep(view({ state: at(2), inHand: [5], waitedTooLong: true })).kind).toBe('gap-timeout');
    expect(nextInOrderStep(view({ inHand: [5, 6], waitedTooLong: true }))).toMatchObject({ kind: 'baseline', afterGap: true, from: { version: 5 } });
  });

  test('a first-seen epoch starts an unknown account at its lowest version at once', () => {
    expect(nextInOrderStep(view({ baseline: 'first-seen', inHand: [5, 4] }))).toMatchObject({ kind: 'baseline', afterGap: false, from: { version: 4 } });
  });

  test('is done when nothing waits above the watermark', () => {
    expect(nextInOrderStep(view({ state: at(4) })).kind).toBe('done');
  });
});

describe('watermark transitions', () => {
  test('advance moves to the delivered version, keeps its image and forgets it as parked or dead-lettered', () => {
    const next = advance(at(2, { parked: [3, 5], deadLettered: [3], gapSince: 10 }), record(3));
    expect(next).toMatchObject({ version: 3, parked: [5], deadLettered: [], lastImage: record(3).newImage });
    expect(next.gapSince).toBeUndefined();
  });

  test('dead-lettering takes versions off the parked list and ignores versions already delivered', () => {
    expect(deadLettered(at(2, { parked: [4, 5] }), [2, 4])).toMatchObject({ parked: [5], deadLettered: [4] });
  });
});
