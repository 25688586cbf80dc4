import { describe, expect, test } from 'vitest';
import type { AccountImage } from '../../shared/accounts/account';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { ContractBreach, beforeBaseline, chainBroken, checkHeal, versionReused, withRecent, withRecentAll } from '../../shared/ordering/contract';
import fc from 'fast-check';
import { MAX_RECENT_DELIVERIES } from '../../shared/ordering/limits';
import { LIVE_EPOCH, type Epoch } from '../../shared/ordering/delivery-mode';
import { canonical, changeDigest } from '../../shared/ordering/change-digest';
import { healMissing, provesChange } from '../../shared/ordering/heal';
import type { VersionRanges } from '../../shared/ordering/version-ranges';
import { emptyWatermark, type Watermark } from '../../shared/ordering/watermark';
import {
  belowFloor,
  changeTimeMicros,
  hasNoStart,
  isBeforeWindow,
  predecessorTimeMicros,
  raisedFloor,
  windowStartFor,
} from '../../shared/ordering/window';
import { accountHistory } from '../support/histories';

/** accountHistory's version v changes at START + v ms (its `updated_at`). */
const START = 1_795_392_000_000_000;
const changedAt = (version: number): number => START + version * 1_000;
const H = accountHistory('A', 10);
const v = (version: number): ChangeRecord => H[version - 1] as ChangeRecord;
const w = (overrides: Partial<Watermark> = {}): Watermark => ({ ...emptyWatermark('A'), ...overrides });
/** A replay from just after version 3 changed: 4 is the first version in the window. */
const REPLAY: Epoch = { id: 'replay', replay: true, from: changedAt(3) + 500 };

describe('versionReused', () => {
  test('a record at or below the highest delivered version, created after the newest delivered change, reuses a version', () => {
    const state = w({ version: 5, newestCreatedAt: v(5).createdAtMicros });
    const rewritten = { ...v(3), createdAtMicros: v(5).createdAtMicros + 1 };
    const breach = versionReused(state, rewritten);
    expect(breach).toBeInstanceOf(ContractBreach);
    expect([breach?.reason, breach?.record]).toEqual(['CONTRACT_BREACH', rewritten]);
    expect(breach?.message).toMatch(/version 3 was written again/);
  });

  test('a duplicate (created no later than the newest), a version above the top, or no creation time known is no reuse', () => {
    const state = w({ version: 5, newestCreatedAt: v(5).createdAtMicros });
    expect(versionReused(state, v(3))).toBeUndefined();
    expect(versionReused(state, v(5))).toBeUndefined();
    expect(versionReused(state, v(6))).toBeUndefined();
    expect(versionReused(w({ version: 5 }), { ...v(3), createdAtMicros: Number.MAX_SAFE_INTEGER })).toBeUndefined();
  });

  test('the top counts versions delivered above the watermark (every-version `ahead`)', () => {
    const state = w({ version: 2, ahead: [[7, 7]], newestCreatedAt: v(7).createdAtMicros });
    expect(versionReused(state, { ...v(6), createdAtMicros: v(7).createdAtMicros + 1 })).toBeInstanceOf(ContractBreach);
  });
});

describe('chainBroken', () => {
  const insert = (version: number): ChangeRecord => ({ ...v(version), kind: 'INSERT', oldImage: undefined });
  const remove = (version: number): ChangeRecord => ({ ...v(version), kind: 'REMOVE', newImage: undefined });

  test('after a REMOVE only an INSERT may follow', () => {
    const state = w({ version: 3, lastKind: 'REMOVE' });
    expect(chainBroken(state, v(4))?.reason).toBe('CONTRACT_BREACH');
    expect(chainBroken(state, remove(4))?.reason).toBe('CONTRACT_BREACH');
    expect(chainBroken(state, insert(4))).toBeUndefined();
  });

  test('after an INSERT or a MODIFY an INSERT re-creates an item that was never deleted', () => {
    expect(chainBroken(w({ version: 3, lastKind: 'MODIFY' }), insert(4))?.message).toMatch(/INSERT of version 4 follows a MODIFY/);
    expect(chainBroken(w({ version: 1, lastKind: 'INSERT' }), insert(2))).toBeInstanceOf(ContractBreach);
    expect(chainBroken(w({ version: 3, lastKind: 'MODIFY' }), v(4))).toBeUndefined();
    expect(chainBroken(w({ version: 3, lastKind: 'MODIFY' }), remove(4))).toBeUndefined();
  });

  test('says nothing about a record that is not watermark+1, or when the last kind is unknown', () => {
    expect(chainBroken(w({ version: 3, lastKind: 'REMOVE' }), v(5))).toBeUndefined();
    expect(chainBroken(w({ version: 3 }), insert(4))).toBeUndefined();
  });
});

describe('checkHeal', () => {
  const healed = w({ version: 5, heals: [{ version: 3, digest: changeDigest(v(3)) }] });

  test('the real record of a healed version with the same digest is the same change', () => {
    expect(checkHeal(healed, { ...v(3), eventId: 'real', sequenceNumber: 'other' })).toBe('same');
  });

  test('a real record that differs from the heal is a HEAL_MISMATCH', () => {
    const different = { ...v(3), newImage: { ...v(3).newImage!, balance: 1 } };
    const result = checkHeal(healed, different);
    expect(result).toBeInstanceOf(ContractBreach);
    expect((result as ContractBreach).reason).toBe('HEAL_MISMATCH');
  });

  test('a version that was not healed (or no marks at all) is not checked', () => {
    expect(checkHeal(healed, v(4))).toBeUndefined();
    expect(checkHeal(w({ version: 5 }), v(3))).toBeUndefined();
  });
});

describe('beforeBaseline', () => {
  test("names an operator's skip or the account's start, and is a BEFORE_BASELINE breach", () => {
    const state = w({ version: 8, floor: 4 });
    const skip = beforeBaseline(state, v(6), 'skip');
    expect([skip.reason, skip.record]).toEqual(['BEFORE_BASELINE', v(6)]);
    expect(skip.message).toMatch(/an operator skipped version 6/);
    expect(beforeBaseline(state, v(2), 'baseline').message).toMatch(/started at version 5 .*destination is at version 8/);
  });
});

describe('provesChange', () => {
  const base: AccountImage = {
    account_id: 'A', balance: 1000, currency: 'AUD', status: 'OPEN', version: 4, updated_at: 't4', last_change: { type: 'DEPOSIT', amount: 5 },
  };
  const next = (change: Partial<AccountImage>): AccountImage => ({ ...base, version: 5, updated_at: 't5', ...change });

  test('a deposit or incoming transfer adds its amount, a withdrawal or outgoing transfer subtracts it', () => {
    expect(provesChange(base, next({ balance: 1030, last_change: { type: 'DEPOSIT', amount: 30 } }))).toBe(true);
    const transferIn = { type: 'TRANSFER_IN' as const, amount: 30, reference: 't', counterparty: 'B' };
    expect(provesChange(base, next({ balance: 1030, last_change: transferIn }))).toBe(true);
    expect(provesChange(base, next({ balance: 970, last_change: { type: 'WITHDRAWAL', amount: 30 } }))).toBe(true);
    expect(provesChange(base, next({ balance: 970, last_change: { type: 'TRANSFER_OUT', amount: 30 } }))).toBe(true);
  });

  test('a balance that does not match last_change, a status that moved, or a bad amount proves nothing', () => {
    expect(provesChange(base, next({ balance: 1031, last_change: { type: 'DEPOSIT', amount: 30 } }))).toBe(false);
    expect(provesChange(base, next({ balance: 1030, last_change: { type: 'WITHDRAWAL', amount: 30 } }))).toBe(false);
    expect(provesChange(base, next({ balance: 1030, status: 'FROZEN', last_change: { type: 'DEPOSIT', amount: 30 } }))).toBe(false);
    for (const amount of [-30, 1.5, Number.NaN, '30'] as unknown as number[]) {
      expect(provesChange(base, next({ balance: base.balance + amount, last_change: { type: 'DEPOSIT', amount } })), String(amount)).toBe(false);
    }
    expect(provesChange(base, next({ last_change: { type: 'OPENED', amount: 0 } }))).toBe(false);
  });

  test('CLOSED changes only the status, from open to CLOSED', () => {
    expect(provesChange(base, next({ status: 'CLOSED', last_change: { type: 'CLOSED', amount: 0 } }))).toBe(true);
    expect(provesChange(base, next({ status: 'CLOSED', balance: 0, last_change: { type: 'CLOSED', amount: 0 } }))).toBe(false);
    const closed = { ...base, status: 'CLOSED' };
    expect(provesChange(closed, { ...closed, version: 5, last_change: { type: 'CLOSED', amount: 0 } })).toBe(false);
  });

  test('without last_change only a write that changed nothing but version and updated_at is proven', () => {
    const { last_change: _dropped, ...plain } = base;
    expect(provesChange(plain, { ...plain, version: 5, updated_at: 't5' })).toBe(true);
    expect(provesChange(plain, { ...plain, version: 5, balance: 1001 })).toBe(false);
    // The previous write said what it did and this one does not: last_change was removed, which is a change.
    expect(provesChange(base, { ...plain, version: 5 })).toBe(false);
  });

  test('an attribute changed, added or removed besides the bookkeeping ones, or a version not one higher, proves nothing', () => {
    const deposit = { balance: 1030, last_change: { type: 'DEPOSIT' as const, amount: 30 } };
    expect(provesChange(base, next({ ...deposit, currency: 'NZD' }))).toBe(false);
    expect(provesChange(base, next({ ...deposit, nickname: 'savings' }))).toBe(false);
    expect(provesChange(base, { ...next(deposit), currency: undefined })).toBe(false);
    expect(provesChange(base, next({ ...deposit, version: 6 }))).toBe(false);
    expect(provesChange(base, next({ ...deposit, updated_at: 'anything' }))).toBe(true);
  });
});

describe('healMissing', () => {
  test('version 1 is rebuilt as the INSERT that created version 2\'s old image', () => {
    const healed = healMissing(1, undefined, v(2));
    expect(healed).toEqual({
      accountId: 'A', version: 1, previousVersion: 0, kind: 'INSERT', newImage: v(1).newImage, createdAtMicros: v(2).createdAtMicros,
      eventId: 'healed:A#1', sequenceNumber: v(2).sequenceNumber, shardId: v(2).shardId,
    });
  });

  test('version 1 is not rebuilt from an old image that says it was not an opening', () => {
    const changed = { ...v(2), oldImage: { ...v(1).newImage!, last_change: { type: 'DEPOSIT' as const, amount: 1 } } };
    expect(healMissing(1, undefined, changed)).toBeUndefined();
  });

  test('version m > 1 is rebuilt as a MODIFY from the image of m-1 when the images prove the change', () => {
    const healed = healMissing(5, v(4).newImage, v(6));
    expect(healed).toMatchObject({ version: 5, previousVersion: 4, kind: 'MODIFY', oldImage: v(4).newImage, newImage: v(5).newImage });
    expect(changeDigest(healed!)).toBe(changeDigest(v(5)));
  });

  test('nothing is rebuilt without the image of m-1, without proof, or from a record that is not m+1', () => {
    expect(healMissing(5, undefined, v(6))).toBeUndefined();
    expect(healMissing(5, v(3).newImage, v(6))).toBeUndefined();
    expect(healMissing(5, v(4).newImage, v(7))).toBeUndefined();
    expect(healMissing(5, v(4).newImage, { ...v(6), oldImage: undefined })).toBeUndefined();
  });
});

describe('changeDigest and canonical', () => {
  test('canonical sorts keys at every level, drops undefined members and sorts sets', () => {
    expect(canonical({ b: 1, a: { d: [2, { y: 1, x: 0 }], c: undefined } })).toBe('{"a":{"d":[2,{"x":0,"y":1}]},"b":1}');
    expect(canonical(new Set(['b', 'a']))).toBe(canonical(new Set(['a', 'b'])));
  });

  test('the digest depends on the change, not on the copy or the key order', () => {
    const reordered = { ...v(4), newImage: Object.fromEntries(Object.entries(v(4).newImage!).reverse()) as AccountImage };
    expect(changeDigest(reordered)).toBe(changeDigest(v(4)));
    expect(changeDigest({ ...v(4), kind: 'INSERT' })).not.toBe(changeDigest(v(4)));
  });
});

describe('changeTimeMicros and predecessorTimeMicros', () => {
  test("a change's time is its new image's updated_at, else the record's creation time", () => {
    expect(changeTimeMicros({ ...v(4), createdAtMicros: 1 })).toBe(changedAt(4));
    expect(changeTimeMicros({ ...v(4), kind: 'REMOVE', newImage: undefined, createdAtMicros: 7 })).toBe(7);
    expect(changeTimeMicros({ ...v(4), newImage: { ...v(4).newImage!, updated_at: 'not a date' }, createdAtMicros: 7 })).toBe(7);
  });

  test("the predecessor's time is the old image's updated_at; -Infinity for version 1; unknown for a re-creation", () => {
    expect(predecessorTimeMicros(v(4))).toBe(changedAt(3));
    expect(predecessorTimeMicros(v(1))).toBe(Number.NEGATIVE_INFINITY);
    expect(predecessorTimeMicros({ ...v(4), kind: 'INSERT', oldImage: undefined })).toBeUndefined();
  });
});

describe('windowStartFor', () => {
  test('a record in the window whose predecessor is before it starts the account right below it', () => {
    expect(windowStartFor(REPLAY, w(), v(4))).toBe(3);
    expect(windowStartFor({ ...REPLAY, from: 0 }, w(), v(1))).toBe(0);
  });

  test('proves nothing in a live epoch, for a record before the window, or one whose predecessor is in it or unknown', () => {
    expect(windowStartFor(LIVE_EPOCH, w(), v(4))).toBeUndefined();
    expect(windowStartFor(REPLAY, w(), v(3))).toBeUndefined();
    expect(windowStartFor(REPLAY, w(), v(5))).toBeUndefined();
    expect(windowStartFor(REPLAY, w(), { ...v(4), oldImage: undefined })).toBeUndefined();
  });

  test('proves nothing for an account that has a start, or at a floor it already has', () => {
    expect(windowStartFor(REPLAY, w({ version: 4, floor: 3 }), v(4))).toBeUndefined();
    expect(windowStartFor(REPLAY, w({ version: 3, floor: 3 }), v(4))).toBeUndefined();
    expect(windowStartFor(REPLAY, w({ version: 2, floor: 2 }), v(4))).toBe(3);
  });
});

describe('isBeforeWindow', () => {
  test('never true without epoch.from, however old the record', () => {
    expect(isBeforeWindow(LIVE_EPOCH, w(), { ...v(1), newImage: { ...v(1).newImage!, updated_at: '1970-01-01T00:00:00Z' } })).toBe(false);
  });

  test('a record from before the start is before the window while the account has no start, or at or below its floor', () => {
    expect(isBeforeWindow(REPLAY, w(), v(3))).toBe(true);
    expect(isBeforeWindow(REPLAY, w({ version: 6, floor: 3 }), v(3))).toBe(true);
    // Above a start every version is in the window, whatever its time says.
    expect(isBeforeWindow(REPLAY, w({ version: 6, floor: 1 }), v(3))).toBe(false);
    expect(isBeforeWindow(REPLAY, w(), v(4))).toBe(false);
  });
});

describe('raisedFloor and belowFloor', () => {
  const waiting: VersionRanges = [[7, 9]];

  test('a before-window record raises the floor to its version, never over a version already waiting or owed', () => {
    expect(raisedFloor(w(), v(3), [])).toBe(3);
    expect(raisedFloor(w(), v(3), waiting)).toBe(3);
    expect(raisedFloor(w(), { ...v(8), version: 8 }, waiting)).toBe(6);
    expect(raisedFloor(w({ owed: [[5, 5]] }), v(8), [])).toBe(4);
    // Owed versions at or below the floor are the window's own past and do not hold it down.
    expect(raisedFloor(w({ version: 2, floor: 2, owed: [[1, 1]] }), v(8), [])).toBe(8);
  });

  test('the floor only rises, and never for an account that has a start', () => {
    expect(raisedFloor(w({ version: 5, floor: 5 }), v(3), [])).toBeUndefined();
    expect(raisedFloor(w({ version: 6, floor: 5 }), v(8), [])).toBeUndefined();
    expect(hasNoStart(w({ version: 6, floor: 5 }))).toBe(false);
  });

  test('belowFloor adds the versions between the old floor and the new one', () => {
    expect(belowFloor(w({ floor: 2 }), 6, [[10, 10]])).toEqual([[3, 6], [10, 10]]);
    expect(belowFloor(w(), 3, [])).toEqual([[1, 3]]);
    expect(belowFloor(w({ floor: 4 }), 4, [])).toEqual([]);
  });
});

describe('withRecent', () => {
  const history = accountHistory('ACC-R', MAX_RECENT_DELIVERIES + 5);
  const entries = (list: readonly { version: number }[]) => list.map((entry) => entry.version);

  test('keeps the newest deliveries in order, at most MAX_RECENT_DELIVERIES, without changing the list it was given', () => {
    let recent: ReturnType<typeof withRecent> = [];
    const seen: (typeof recent)[] = [];
    for (const record of history) {
      const before = [...recent];
      const next = withRecent(recent, record, false);
      expect(recent).toEqual(before);
      seen.push(next);
      recent = next;
    }
    expect(entries(recent)).toEqual(history.slice(-MAX_RECENT_DELIVERIES).map((record) => record.version));
    expect(recent.at(-1)).toEqual({ version: history.at(-1)!.version, createdAt: history.at(-1)!.createdAtMicros, kind: history.at(-1)!.kind });
    expect(seen.every((list) => list.length <= MAX_RECENT_DELIVERIES)).toBe(true);
  });

  test('a version delivered again replaces its entry; a heal is not remembered', () => {
    const full = history.slice(0, MAX_RECENT_DELIVERIES).reduce<ReturnType<typeof withRecent>>((list, record) => withRecent(list, record, false), []);
    const again = withRecent(full, history[3]!, false);
    expect(entries(again)).toEqual([...entries(full).filter((version) => version !== 4), 4]);
    expect(withRecent(full, history[MAX_RECENT_DELIVERIES]!, true)).toBe(full);
  });
});

describe('withRecentAll', () => {
  const history = accountHistory('ACC-R', 3 * MAX_RECENT_DELIVERIES);
  const healedCopy = (record: ChangeRecord): ChangeRecord => ({ ...record, eventId: `healed:${record.accountId}#${record.version}` });

  test('is withRecent applied record by record: any list, any ascending batch, heals by set or by event id', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: history.length }), { maxLength: MAX_RECENT_DELIVERIES + 2 }),
        fc.uniqueArray(fc.integer({ min: 1, max: history.length }), { maxLength: MAX_RECENT_DELIVERIES + 3 }),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 12, maxLength: 12 }),
        (listed, delivered, marks) => {
          const recent = listed.reduce<ReturnType<typeof withRecent>>((list, version) => withRecent(list, history[version - 1]!, false), []);
          const batch = [...delivered].sort((a, b) => a - b).map((version, index) => (marks[index % marks.length] === 1 ? healedCopy(history[version - 1]!) : history[version - 1]!));
          const healed = new Set(batch.filter((_record, index) => marks[index % marks.length] === 2).map((record) => record.version));
          const expected = batch.reduce<ReturnType<typeof withRecent>>((list, record) => (healed.has(record.version) ? list : withRecent(list, record, false)), recent);
          expect(withRecentAll(recent, batch, healed)).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('builds one new list for a batch that follows the list, and leaves the list it was given alone', () => {
    const recent = history.slice(0, 5).reduce<ReturnType<typeof withRecent>>((list, record) => withRecent(list, record, false), []);
    const before = [...recent];
    const next = withRecentAll(recent, history.slice(5, 9), new Set());
    expect(next.map((entry) => entry.version)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(recent).toEqual(before);
  });
});
