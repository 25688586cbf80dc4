import { describe, expect, test } from 'vitest';
import { turnClock } from '../../shared/async/turn-clock';

describe('turnClock', () => {
  test('answers one reading for a synchronous stretch, and reads again after an await', async () => {
    let time = 1_000;
    let reads = 0;
    const now = turnClock(() => {
      reads += 1;
      return time;
    });
    expect(now()).toBe(1_000);
    time = 2_000;
    expect(now()).toBe(1_000);
    expect(reads).toBe(1);
    await Promise.resolve();
    expect(now()).toBe(2_000);
    expect(reads).toBe(2);
  });

  test('a clock moved between two turns is seen in the second (as a test clock is moved while a delivery is awaited)', async () => {
    let time = 5;
    const now = turnClock(() => time);
    const first = now();
    await new Promise((resolve) => setImmediate(resolve));
    time = 9;
    expect([first, now()]).toEqual([5, 9]);
  });
});
