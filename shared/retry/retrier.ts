import { NOT_SENT_DEADLINE } from './deadline';

/**
 * Retries with exponential backoff and full jitter, inside the time an invocation has left.
 *
 * Destinations send many items per call (a `_bulk`, a `PutEvents`, many `PutObject`s) and each item can fail on its
 * own, so a round sends the items still pending and the answer is per item: done, worth retrying, or refused for good.
 *
 * Two deadlines bound a call: the retrier's own (the invocation's end minus a reserve, moved per batch) and the
 * call's (`settle(..., { deadline })`, e.g. an in-order claim's end). The earlier one wins; no round starts after it,
 * and each round is told it so that the adapter can abort its requests in flight there.
 */

export interface RetryPolicy {
  /** Attempts per item, the first one included. */
  readonly maxAttempts: number;
  /** Backoff before retry n is a random delay in [0, min(maxDelayMs, baseDelayMs * 2^(n-1))]. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 5_000 };

/** One item's answer in one round. */
export type ItemAnswer<Result> =
  | { readonly kind: 'done'; readonly result: Result }
  /**
   * Throttled, a 5xx, a time-out: worth another attempt. With the detail `NOT_SENT_DEADLINE` the item was not sent in
   * this round (its turn came after the deadline): the round is not counted among its attempts, so an item never sent
   * ends with 0 attempts, which the engine hands back to Lambda instead of dead-lettering it.
   */
  | { readonly kind: 'retry'; readonly detail: string }
  /** Refused for good (a mapping conflict, a schema rejection, an access denial): no second attempt. */
  | { readonly kind: 'reject'; readonly detail: string };

export type Settled<Result> =
  | { readonly kind: 'done'; readonly result: Result; readonly attempts: number }
  | {
      readonly kind: 'failed';
      /** DELIVERY_FAILED: attempts or time ran out. REJECTED: a permanent refusal. */
      readonly reason: 'DELIVERY_FAILED' | 'REJECTED';
      readonly detail: string;
      readonly attempts: number;
    };

export interface SettleOptions {
  /**
   * Milliseconds since the epoch by which the call must have answered, requests in flight included. Per call, not a
   * field, because one Retrier serves concurrent calls with different deadlines.
   */
  readonly deadline?: number;
}

/** What a round is told besides its items. */
export interface Round {
  /** The earlier of the two deadlines: the round's requests must have ended by then (undefined: no bound). */
  readonly deadline: number | undefined;
}

export interface RetrierOptions {
  readonly policy?: RetryPolicy;
  /** @default Date.now */
  readonly clock?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** @default Math.random */
  readonly random?: () => number;
}

/** One destination's retry budget. The handler moves `deadline` forward at the start of every invocation. */
export class Retrier {
  readonly policy: RetryPolicy;
  /**
   * Milliseconds since the epoch after which no round starts and no request stays in flight; undefined: only
   * `maxAttempts` (and a call's own deadline) bound retries.
   */
  deadline: number | undefined;
  /** Items sent again, since the last `takeRetries()`. */
  #retries = 0;
  readonly #clock: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;

  constructor(options: RetrierOptions = {}) {
    this.policy = options.policy ?? DEFAULT_RETRY_POLICY;
    assertPolicy(this.policy);
    this.#clock = options.clock ?? Date.now;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
  }

  /** Returns the retries counted since the last call and resets the count (one metric per batch). */
  takeRetries(): number {
    const retries = this.#retries;
    this.#retries = 0;
    return retries;
  }

  /**
   * Sends `items` in rounds until each is done or failed. `send` answers for exactly the items it is given, in order;
   * it throws only for the unexpected, which propagates. A round starts only when the earlier deadline has not passed,
   * and a retry only when its backoff ends before it; what is left then fails with DELIVERY_FAILED.
   */
  async settle<Item, Result>(
    items: readonly Item[],
    send: (pending: readonly Item[], attempt: number, round: Round) => Promise<readonly ItemAnswer<Result>[]>,
    options: SettleOptions = {},
  ): Promise<Settled<Result>[]> {
    const limit = this.#limit(options.deadline);
    const round: Round = { deadline: limit?.at };
    const settled = new Array<Settled<Result> | undefined>(items.length);
    // Rounds in which each item was really sent (an item answered NOT_SENT_DEADLINE was not).
    const sent = new Array<number>(items.length).fill(0);
    if (limit !== undefined && this.#clock() >= limit.at) {
      const detail = `not sent: ${limit.noTimeLeft}`;
      return items.map(() => ({ kind: 'failed', reason: 'DELIVERY_FAILED', detail, attempts: 0 }));
    }
    let pending = items.map((_, index) => index);
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      const answers = await send(
        pending.map((index) => items[index] as Item),
        attempt,
        round,
      );
      if (answers.length !== pending.length) {
        throw new Error(`a destination round answered ${answers.length} items for ${pending.length}`);
      }
      const retry: number[] = [];
      answers.forEach((answer, position) => {
        const index = pending[position] as number;
        if (answer.kind !== 'retry' || answer.detail !== NOT_SENT_DEADLINE) sent[index] = (sent[index] as number) + 1;
        const attempts = sent[index] as number;
        if (answer.kind === 'done') settled[index] = { kind: 'done', result: answer.result, attempts };
        else if (answer.kind === 'reject') {
          settled[index] = { kind: 'failed', reason: 'REJECTED', detail: answer.detail, attempts };
        } else {
          retry.push(index);
          settled[index] = { kind: 'failed', reason: 'DELIVERY_FAILED', detail: answer.detail, attempts };
        }
      });
      if (retry.length === 0) break;
      let stop = this.#whyStop(attempt, limit);
      const delay = stop === undefined ? this.#backoff(attempt) : 0;
      if (stop === undefined && limit !== undefined && this.#clock() + delay >= limit.at) {
        stop = `${limit.noTimeLeft} for attempt ${attempt + 1}`;
      }
      if (stop !== undefined) {
        for (const index of retry) {
          const failed = settled[index] as Settled<Result> & { kind: 'failed' };
          settled[index] = { ...failed, detail: `${failed.detail} (${stop})` };
        }
        break;
      }
      await this.#sleep(delay);
      this.#retries += retry.length;
      pending = retry;
    }
    return settled as Settled<Result>[];
  }

  /** The earlier deadline, and how to say that it passed (the invocation's wording is what dead letters carried). */
  #limit(callDeadline: number | undefined): Limit | undefined {
    const own = this.deadline;
    if (callDeadline !== undefined && (own === undefined || callDeadline <= own)) {
      return { at: callDeadline, noTimeLeft: "no time left before the call's deadline" };
    }
    return own === undefined ? undefined : { at: own, noTimeLeft: 'no invocation time left' };
  }

  #whyStop(attempt: number, limit: Limit | undefined): string | undefined {
    if (attempt >= this.policy.maxAttempts) return `gave up after ${attempt} attempts`;
    if (limit !== undefined && this.#clock() >= limit.at) return limit.noTimeLeft;
    return undefined;
  }

  #backoff(attempt: number): number {
    const ceiling = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(this.#random() * ceiling);
  }
}

interface Limit {
  readonly at: number;
  readonly noTimeLeft: string;
}

function assertPolicy(policy: RetryPolicy): void {
  const { maxAttempts, baseDelayMs, maxDelayMs } = policy;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`retry maxAttempts must be a positive integer, got ${maxAttempts}`);
  }
  if (!(baseDelayMs >= 0) || !(maxDelayMs >= baseDelayMs)) {
    throw new RangeError(`retry delays must satisfy 0 <= baseDelayMs <= maxDelayMs, got ${baseDelayMs}, ${maxDelayMs}`);
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
