import { describe, expect, test } from 'vitest';
import { ACCOUNT_STATES, accountState, type AccountState } from '../../shared/ordering/account-state';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { emptyWatermark, FENCE_OWNER, type Watermark } from '../../shared/ordering/watermark';

const NOW = 1_800_000_000_000;
const w = (overrides: Partial<Watermark> = {}): Watermark => ({ ...emptyWatermark('A'), ...overrides });
const claim = (expiresAt: number) => ({ owner: 'engine-2', token: 'engine-2:1', version: 4, expiresAt });
const MODES: readonly DeliveryMode[] = ['in-order', 'every-version', 'latest-state'];

describe('accountState: every mode', () => {
  test('an account the ledger does not know, or one with nothing delivered, waiting or started, is new', () => {
    for (const mode of MODES) {
      expect(accountState(undefined, mode, NOW), mode).toBe('new');
      expect(accountState(w(), mode, NOW), mode).toBe('new');
    }
  });

  test('an account with a watermark or a floor and nothing waiting is in step', () => {
    for (const mode of MODES) {
      expect(accountState(w({ version: 3 }), mode, NOW), mode).toBe('in-step');
      expect(accountState(w({ floor: 5, version: 5 }), mode, NOW), mode).toBe('in-step');
      // A replay account whose floor is 0 (it starts at version 1) has been started.
      expect(accountState(w({ floor: 0 }), mode, NOW), mode).toBe('in-step');
    }
  });

  test('the states are the seven the README tables', () => {
    expect([...ACCOUNT_STATES].sort()).toEqual<AccountState[]>(
      ['blocked-on-failure', 'delivering', 'fenced', 'gap-timed-out', 'in-step', 'new', 'parked-behind-gap'],
    );
  });
});

describe('accountState: in-order', () => {
  const state = (overrides: Partial<Watermark>, now = NOW) => accountState(w({ version: 3, ...overrides }), 'in-order', now);

  test('a live claim means delivering, whatever else the watermark says; an expired one does not count', () => {
    expect(state({ claim: claim(NOW + 1) })).toBe('delivering');
    expect(state({ claim: claim(NOW + 1), parked: [[5, 5]], owed: [[4, 4]] })).toBe('delivering');
    expect(state({ claim: claim(NOW) })).toBe('in-step');
    expect(state({ claim: claim(NOW - 1), parked: [[5, 5]] })).toBe('parked-behind-gap');
  });

  test('a live fence (another lane fenced the home off) is fenced until it ends, then the parked state shows', () => {
    const fence = (expiresAt: number) => ({ owner: FENCE_OWNER, token: 'engine-2:1', version: 4, expiresAt });
    expect(state({ claim: fence(NOW + 1), parked: [[4, 5]], gapSince: NOW - 1 })).toBe('fenced');
    expect(state({ claim: fence(NOW), parked: [[4, 5]], gapSince: NOW - 1 })).toBe('parked-behind-gap');
  });

  test('watermark+1 owed (dead-lettered) is blocked on failure, with or without records parked behind it', () => {
    expect(state({ owed: [[4, 4]] })).toBe('blocked-on-failure');
    expect(state({ owed: [[4, 4]], parked: [[6, 9]], gapSince: NOW - 1 })).toBe('blocked-on-failure');
    // Owed versions further up, with nothing parked, do not block the next one.
    expect(state({ owed: [[6, 6]] })).toBe('in-step');
  });

  test('records parked behind a missing version are parked behind the gap', () => {
    expect(state({ parked: [[5, 9]], gapSince: NOW - 1 })).toBe('parked-behind-gap');
    expect(accountState(w({ parked: [[5, 9]] }), 'in-order', NOW)).toBe('parked-behind-gap');
  });

  test('once the GAP_TIMEOUT notice for the current gap went out, the account is gap-timed-out', () => {
    expect(state({ parked: [[6, 9]], gapNotice: { from: 4, to: 5, at: NOW } })).toBe('gap-timed-out');
    // A notice for an earlier gap does not describe this one.
    expect(state({ parked: [[6, 9]], gapNotice: { from: 2, to: 2, at: NOW } })).toBe('parked-behind-gap');
  });

  test('versions delivered above the watermark are not an in-order notion', () => {
    expect(state({ ahead: [[6, 6]] })).toBe('in-step');
  });
});

describe('accountState: every-version', () => {
  const state = (overrides: Partial<Watermark>) => accountState(w({ version: 3, ...overrides }), 'every-version', NOW);

  test('versions delivered above a missing one that is still expected: parked behind the gap', () => {
    expect(state({ ahead: [[6, 6]], gapSince: NOW - 1 })).toBe('parked-behind-gap');
    expect(accountState(w({ ahead: [[6, 6]] }), 'every-version', NOW)).toBe('parked-behind-gap');
  });

  test('versions above the watermark that are owed are no gap, and neither claims, letters nor parked sets apply', () => {
    expect(state({ ahead: [[6, 6]], owed: [[4, 5]] })).toBe('in-step');
    expect(state({ claim: claim(NOW + 1) })).toBe('in-step');
    expect(state({ owed: [[4, 4]] })).toBe('in-step');
    expect(state({ parked: [[5, 5]], gapNotice: { from: 4, to: 4, at: NOW } })).toBe('in-step');
  });
});

describe('accountState: latest-state', () => {
  test('is new or in step: nothing waits in latest-state', () => {
    const busy = w({ version: 3, claim: claim(NOW + 1), owed: [[4, 4]], parked: [[6, 6]], ahead: [[8, 8]] });
    expect(accountState(busy, 'latest-state', NOW)).toBe('in-step');
    expect(accountState(w({ parked: [[6, 6]] }), 'latest-state', NOW)).toBe('new');
  });
});
