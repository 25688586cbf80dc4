import { describe, expect, test } from 'vitest';
import { checkAccount, inOrderViolations } from '../../local/verify';

const none = new Set<number>();

describe('the read-back in-order rule follows the commit mode', () => {
  test('1..n in order has no violations in either mode', () => {
    expect(inOrderViolations([1, 2, 3, 4], none, 'per-version')).toBe(0);
    expect(inOrderViolations([1, 2, 3, 4], none, 'per-batch')).toBe(0);
  });

  test('per-version: only the version just delivered may come again', () => {
    expect(inOrderViolations([1, 2, 2, 3], none, 'per-version')).toBe(0);
    expect(inOrderViolations([1, 2, 3, 2, 3, 4], none, 'per-version')).toBe(2);
  });

  test('per-batch: a crash replays a run from its start, then the stream goes on', () => {
    const replayed = [1, 2, 3, 4, 5, 6, 7, 8, 9, 4, 5, 6, 7, 8, 9, 10, 11];
    expect(inOrderViolations(replayed, none, 'per-batch')).toBe(0);
    expect(inOrderViolations(replayed, none, 'per-version')).toBeGreaterThan(0);
  });

  test('per-batch still refuses a first delivery out of order', () => {
    expect(inOrderViolations([1, 3, 2], none, 'per-batch')).toBe(2);
    expect(inOrderViolations([1, 2, 1, 4, 3], none, 'per-batch')).toBe(2);
    expect(inOrderViolations([2, 1], none, 'per-batch')).toBe(2);
  });

  test('versions dropped on purpose may be skipped, not anything else', () => {
    expect(inOrderViolations([1, 3, 4], new Set([2]), 'per-batch')).toBe(0);
    expect(inOrderViolations([1, 4], new Set([2]), 'per-batch')).toBe(1);
  });

  test('checkAccount passes the commit mode to the in-order rule and counts redeliveries', () => {
    const replayed = [1, 2, 3, 2, 3, 4];
    expect(checkAccount('in-order', replayed, 4, none, 'per-batch')).toEqual({ missing: 0, orderViolations: 0, redelivered: 2, droppedAbsent: 0 });
    expect(checkAccount('in-order', replayed, 4).orderViolations).toBe(2);
    expect(checkAccount('in-order', [1, 2], 4, new Set([4]), 'per-batch')).toEqual({ missing: 1, orderViolations: 0, redelivered: 0, droppedAbsent: 1 });
  });
});
