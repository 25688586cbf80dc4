import { describe, expect, it } from 'vitest';
import { DEFAULT_RETRY_POLICY, Retrier, type ItemAnswer, type RetryPolicy } from '../../shared/retry/retrier';

const POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000 };

/** A retrier whose sleeps are recorded and advance a hand-driven clock instead of waiting. */
function retrier(options: { policy?: RetryPolicy; random?: () => number; now?: number; deadline?: number } = {}) {
  const delays: number[] = [];
  const clock = { time: options.now ?? 1_000_000 };
  const r = new Retrier({
    policy: options.policy ?? POLICY,
    clock: () => clock.time,
    random: options.random ?? (() => 0.5),
    sleep: async (ms) => {
      delays.push(ms);
      clock.time += ms;
    },
  });
  r.deadline = options.deadline;
  return { retrier: r, delays, clock };
}

type Round = { pending: string[]; attempt: number };

/** A send that answers from a per-item script: answer n of an item is its n-th round's answer (the last repeats). */
function scripted(script: Record<string, ItemAnswer<string>[]>) {
  const rounds: Round[] = [];
  const seen = new Map<string, number>();
  const send = async (pending: readonly string[], attempt: number): Promise<ItemAnswer<string>[]> => {
    rounds.push({ pending: [...pending], attempt });
    return pending.map((item) => {
      const n = seen.get(item) ?? 0;
      seen.set(item, n + 1);
      const answers = script[item] ?? [];
      return answers[Math.min(n, answers.length - 1)] as ItemAnswer<string>;
    });
  };
  return { send, rounds };
}

const done = (result: string): ItemAnswer<string> => ({ kind: 'done', result });
const retry = (detail: string): ItemAnswer<string> => ({ kind: 'retry', detail });
const reject = (detail: string): ItemAnswer<string> => ({ kind: 'reject', detail });

describe('Retrier.settle', () => {
  it('settles everything in one round without sleeping when every item is done', async () => {
    const { retrier: r, delays } = retrier();
    const { send, rounds } = scripted({ a: [done('A')], b: [done('B')] });

    const settled = await r.settle(['a', 'b'], send);

    expect(settled).toEqual([
      { kind: 'done', result: 'A', attempts: 1 },
      { kind: 'done', result: 'B', attempts: 1 },
    ]);
    expect(rounds).toEqual([{ pending: ['a', 'b'], attempt: 1 }]);
    expect(delays).toEqual([]);
    expect(r.takeRetries()).toBe(0);
  });

  it('resends only the pending items, counts attempts per item and resent items per takeRetries', async () => {
    const { retrier: r, delays } = retrier();
    const { send, rounds } = scripted({
      a: [done('A')],
      b: [retry('throttled'), done('B')],
      c: [retry('503'), retry('503'), done('C')],
    });

    const settled = await r.settle(['a', 'b', 'c'], send);

    expect(settled).toEqual([
      { kind: 'done', result: 'A', attempts: 1 },
      { kind: 'done', result: 'B', attempts: 2 },
      { kind: 'done', result: 'C', attempts: 3 },
    ]);
    expect(rounds).toEqual([
      { pending: ['a', 'b', 'c'], attempt: 1 },
      { pending: ['b', 'c'], attempt: 2 },
      { pending: ['c'], attempt: 3 },
    ]);
    expect(delays).toHaveLength(2);
    expect(r.takeRetries()).toBe(3);
    expect(r.takeRetries()).toBe(0);
  });

  it('never retries a rejection', async () => {
    const { retrier: r, delays } = retrier();
    const { send, rounds } = scripted({ a: [reject('AccessDenied')], b: [retry('throttled'), done('B')] });

    const settled = await r.settle(['a', 'b'], send);

    expect(settled[0]).toEqual({ kind: 'failed', reason: 'REJECTED', detail: 'AccessDenied', attempts: 1 });
    expect(settled[1]).toEqual({ kind: 'done', result: 'B', attempts: 2 });
    expect(rounds.map((round) => round.pending)).toEqual([['a', 'b'], ['b']]);
    expect(delays).toHaveLength(1);
    expect(r.takeRetries()).toBe(1);
  });

  it('gives up with DELIVERY_FAILED after maxAttempts, saying how many attempts were made', async () => {
    const { retrier: r, delays } = retrier();
    const { send, rounds } = scripted({ a: [retry('ThrottlingException')] });

    const [settled] = await r.settle(['a'], send);

    expect(settled).toMatchObject({ kind: 'failed', reason: 'DELIVERY_FAILED', attempts: 4 });
    expect(settled?.kind === 'failed' && settled.detail).toMatch(/ThrottlingException.*after 4 attempts/);
    expect(rounds.map((round) => round.attempt)).toEqual([1, 2, 3, 4]);
    expect(delays).toHaveLength(3);
    expect(r.takeRetries()).toBe(3);
  });

  it('backs off with full jitter under min(maxDelay, base * 2^(n-1))', async () => {
    const policy = { maxAttempts: 7, baseDelayMs: 100, maxDelayMs: 1_000 };
    const high = retrier({ policy, random: () => 0.999 });
    await high.retrier.settle(['a'], scripted({ a: [retry('x')] }).send);
    // Ceilings 100, 200, 400, 800, then capped at 1000.
    expect(high.delays).toEqual([99, 199, 399, 799, 999, 999]);
    for (const [n, delay] of high.delays.entries()) expect(delay).toBeLessThanOrEqual(Math.min(1_000, 100 * 2 ** n));

    const low = retrier({ policy, random: () => 0 });
    await low.retrier.settle(['a'], scripted({ a: [retry('x')] }).send);
    expect(low.delays).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('stops retrying when the next backoff would cross the deadline', async () => {
    // random 0.999: backoffs 99, 199, 399; only the first two fit before now + 350.
    const { retrier: r, delays, clock } = retrier({ random: () => 0.999, policy: { ...POLICY, maxAttempts: 10 } });
    r.deadline = clock.time + 350;
    const { send, rounds } = scripted({ a: [retry('503 ServiceUnavailable')], b: [done('B')] });

    const settled = await r.settle(['a', 'b'], send);

    expect(delays).toEqual([99, 199]);
    expect(rounds).toHaveLength(3);
    expect(settled[0]).toMatchObject({ kind: 'failed', reason: 'DELIVERY_FAILED', attempts: 3 });
    expect(settled[0]?.kind === 'failed' && settled[0].detail).toMatch(/^503 ServiceUnavailable \(no invocation time left/);
    expect(settled[1]).toEqual({ kind: 'done', result: 'B', attempts: 1 });
    expect(r.takeRetries()).toBe(2);
  });

  it('sends nothing and fails every item when the deadline has already passed', async () => {
    const { retrier: r, delays, clock } = retrier();
    r.deadline = clock.time - 1;
    const { send, rounds } = scripted({ a: [done('A')], b: [done('B')] });

    const settled = await r.settle(['a', 'b'], send);

    expect(rounds).toEqual([]);
    expect(delays).toEqual([]);
    expect(settled).toEqual([
      { kind: 'failed', reason: 'DELIVERY_FAILED', detail: 'not sent: no invocation time left', attempts: 0 },
      { kind: 'failed', reason: 'DELIVERY_FAILED', detail: 'not sent: no invocation time left', attempts: 0 },
    ]);
  });

  it('is bounded only by maxAttempts when the deadline is undefined, however long the backoffs', async () => {
    const policy = { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 300_000 };
    const { retrier: r, delays } = retrier({ policy, random: () => 0.999 });
    expect(r.deadline).toBeUndefined();

    const [settled] = await r.settle(['a'], scripted({ a: [retry('x'), retry('x'), retry('x'), retry('x'), done('A')] }).send);

    expect(settled).toEqual({ kind: 'done', result: 'A', attempts: 5 });
    expect(delays.reduce((sum, delay) => sum + delay, 0)).toBeGreaterThan(700_000);
  });

  // A dead letter must carry its own record's error, also when the deadline cuts retries off.
  it('keeps each item its own detail when the deadline cuts retries off', async () => {
    const { retrier: r, clock } = retrier({ random: () => 0.999 });
    r.deadline = clock.time + 50;
    const { send } = scripted({ a: [retry('a: throttled')], b: [retry('b: 503')] });

    const settled = await r.settle(['a', 'b'], send);

    expect(settled[0]?.kind === 'failed' && settled[0].detail).toMatch(/^a: throttled/);
    expect(settled[1]?.kind === 'failed' && settled[1].detail).toMatch(/^b: 503/);
  });

  it('throws when a round answers for the wrong number of items', async () => {
    const { retrier: r } = retrier();
    await expect(r.settle(['a', 'b'], async () => [done('only one')])).rejects.toThrow(/answered 1 items for 2/);
    const extra = async () => [done('1'), done('2'), done('3')];
    await expect(r.settle(['a', 'b'], extra)).rejects.toThrow(/answered 3 items for 2/);
  });

  it('lets an exception thrown by send propagate', async () => {
    const { retrier: r } = retrier();
    const bug = new TypeError('cannot read properties of undefined');
    let calls = 0;
    const send = async (pending: readonly string[]) => {
      calls += 1;
      if (calls === 2) throw bug;
      return pending.map(() => retry('throttled'));
    };
    await expect(r.settle(['a'], send)).rejects.toBe(bug);
    expect(calls).toBe(2);
  });

  it('refuses an invalid policy with a RangeError', () => {
    const bad: RetryPolicy[] = [
      { maxAttempts: 0, baseDelayMs: 100, maxDelayMs: 1_000 },
      { maxAttempts: 1.5, baseDelayMs: 100, maxDelayMs: 1_000 },
      { maxAttempts: Number.NaN, baseDelayMs: 100, maxDelayMs: 1_000 },
      { maxAttempts: 3, baseDelayMs: -1, maxDelayMs: 1_000 },
      { maxAttempts: 3, baseDelayMs: Number.NaN, maxDelayMs: 1_000 },
      { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 100 },
    ];
    for (const policy of bad) expect(() => new Retrier({ policy }), JSON.stringify(policy)).toThrow(RangeError);
    expect(() => new Retrier({ policy: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 } })).not.toThrow();
    expect(new Retrier().policy).toEqual({ maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 5_000 });
    expect(DEFAULT_RETRY_POLICY).toEqual({ maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 5_000 });
  });
});

describe('Retrier.settle with a call deadline', () => {
  /** A send that records the deadline each round was given and answers `retry` for every item. */
  function throttled(onRound?: () => void) {
    const deadlines: (number | undefined)[] = [];
    const send = async (pending: readonly string[], _attempt: number, round: { deadline: number | undefined }) => {
      deadlines.push(round.deadline);
      onRound?.();
      return pending.map(() => retry('ThrottlingException'));
    };
    return { send, deadlines };
  }

  it('tells each round the call deadline when it is the earlier one, and names it when it cuts retries off', async () => {
    const { retrier: r, delays, clock } = retrier({ random: () => 0.999, policy: { ...POLICY, maxAttempts: 10 } });
    r.deadline = clock.time + 10_000;
    const { send, deadlines } = throttled();

    const [settled] = await r.settle(['a'], send, { deadline: clock.time + 350 });

    // Backoffs 99 and 199 fit before now + 350; 399 would not.
    expect(delays).toEqual([99, 199]);
    expect(deadlines).toEqual([1_000_350, 1_000_350, 1_000_350]);
    expect(settled).toMatchObject({ kind: 'failed', reason: 'DELIVERY_FAILED', attempts: 3 });
    expect(settled?.kind === 'failed' && settled.detail).toBe("ThrottlingException (no time left before the call's deadline for attempt 4)");
  });

  it("keeps the retrier's own deadline when it is the earlier one", async () => {
    const { retrier: r, clock } = retrier({ random: () => 0.999, policy: { ...POLICY, maxAttempts: 10 } });
    r.deadline = clock.time + 150;
    const { send, deadlines } = throttled();

    const [settled] = await r.settle(['a'], send, { deadline: clock.time + 60_000 });

    expect(deadlines).toEqual([1_000_150, 1_000_150]);
    expect(settled?.kind === 'failed' && settled.detail).toBe('ThrottlingException (no invocation time left for attempt 3)');
  });

  it('stops without sleeping when a round itself ran up to the deadline (a request aborted there)', async () => {
    const { retrier: r, delays, clock } = retrier();
    const deadline = clock.time + 5_000;
    // The round's request hangs until its signal aborts it at the deadline.
    const { send } = throttled(() => {
      clock.time = deadline;
    });

    const [settled] = await r.settle(['a'], send, { deadline });

    expect(delays).toEqual([]);
    expect(settled).toEqual({
      kind: 'failed',
      reason: 'DELIVERY_FAILED',
      detail: "ThrottlingException (no time left before the call's deadline)",
      attempts: 1,
    });
  });

  it('sends nothing when the call deadline has already passed', async () => {
    const { retrier: r, clock } = retrier();
    const { send, deadlines } = throttled();

    const settled = await r.settle(['a'], send, { deadline: clock.time });

    expect(deadlines).toEqual([]);
    expect(settled).toEqual([
      { kind: 'failed', reason: 'DELIVERY_FAILED', detail: "not sent: no time left before the call's deadline", attempts: 0 },
    ]);
  });

  it('gives each of two concurrent calls its own deadline', async () => {
    const { retrier: r, clock } = retrier({ random: () => 0.999, policy: { ...POLICY, maxAttempts: 10 } });
    const short = throttled();
    const long = throttled();

    const [a, b] = await Promise.all([
      r.settle(['a'], short.send, { deadline: clock.time + 150 }),
      r.settle(['b'], long.send, { deadline: clock.time + 100_000 }),
    ]);

    expect(new Set(short.deadlines)).toEqual(new Set([1_000_150]));
    expect(new Set(long.deadlines)).toEqual(new Set([1_100_000]));
    expect(a[0]?.kind === 'failed' && a[0].detail).toMatch(/no time left before the call's deadline/);
    expect(b[0]?.kind === 'failed' && b[0].detail).toMatch(/gave up after 10 attempts/);
    expect(r.deadline).toBeUndefined();
  });

  it('gives rounds no deadline when neither the retrier nor the call has one', async () => {
    const { retrier: r } = retrier();
    const { send, deadlines } = throttled();
    const [settled] = await r.settle(['a'], send, {});
    expect(deadlines).toEqual([undefined, undefined, undefined, undefined]);
    expect(settled).toMatchObject({ kind: 'failed', attempts: 4 });
  });
});
