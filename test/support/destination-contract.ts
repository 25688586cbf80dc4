import { describe, expect, it } from 'vitest';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { Delivery, DeliveryResult, Destination } from '../../shared/ordering/ports';
import { Retrier } from '../../shared/retry/retrier';
import { accountHistory } from './histories';

/**
 * The contract every destination adapter passes, built-in or plug-in: `describeDestinationContract(plugin, makeEnv)`
 * in a test file of the plug-in. `makeEnv` builds the adapter against its local stand-in or emulator, with faults the
 * harness can switch on, and reads back what the destination received.
 */

/** Faults a contract environment can inject between the adapter and its service. */
export interface ContractFaults {
  /** The next `calls` requests fail as a briefly unavailable service does (503, throttling): retryable. */
  failNextCalls(calls: number): void;
  /** Every write of this account is refused for good, as the service refuses a malformed or forbidden write. */
  rejectAccount(accountId: string): void;
  /** The write of this one version of the account is refused for good; its other versions go through. */
  rejectVersion(accountId: string, version: number): void;
  /** Requests wait until their abort signal fires (the service stopped answering). */
  hang(on: boolean): void;
  /**
   * Requests the adapter has in flight at once reach the service in reverse order of sending (`holdInReverse`): what
   * a slow request or a reordering network does to requests that were not waited for.
   */
  landInReverse(on: boolean): void;
}

export interface ContractEnv {
  readonly destination: Destination;
  readonly faults: ContractFaults;
  /** What the destination accepted, in arrival order (repeats included, as the destination holds or passed them). */
  readBack(): Promise<readonly { readonly accountId: string; readonly version: number }[]>;
  /** Entries per request the service received, for the batch limit check. @default not checked */
  entriesPerCall?(): readonly number[];
  close(): Promise<void>;
}

export interface ContractOptions {
  /** Entries the service takes per request (SQS 10, PutEvents 10): every request must stay within it. */
  readonly maxEntriesPerCall?: number;
  /** A record whose payload is larger than this is REJECTED without a request. @default not checked */
  readonly maxRecordBytes?: number;
}

/** Builds the adapter under test: `retrier` is the consumer's retry budget (no backoff here, 4 attempts). */
export type MakeContractEnv = (context: { readonly retrier: Retrier }) => Promise<ContractEnv>;

let run = 0;
/** Histories of `accounts` fresh accounts (ids unique per call), `versions` each, as deliveries in version order. */
export function contractDeliveries(accounts: number, versions: number, options: { padBytes?: number } = {}): Delivery[] {
  run += 1;
  const deliveries: Delivery[] = [];
  for (let a = 0; a < accounts; a += 1) {
    for (const record of accountHistory(`contract-${run}-${a}`, versions)) {
      const padded: ChangeRecord = options.padBytes ? { ...record, newImage: { ...record.newImage!, note: 'x'.repeat(options.padBytes) } } : record;
      deliveries.push({ record: padded, healed: false, replay: false, epoch: 'live' });
    }
  }
  return deliveries;
}

const keyOf = (entry: { accountId: string; version: number }): string => `${entry.accountId}#${entry.version}`;

/** Each account's versions in the order they first arrived. */
function firstArrivals(entries: readonly { accountId: string; version: number }[]): Map<string, number[]> {
  const seen = new Set<string>();
  const byAccount = new Map<string, number[]>();
  for (const entry of entries) {
    if (seen.has(keyOf(entry))) continue;
    seen.add(keyOf(entry));
    byAccount.set(entry.accountId, [...(byAccount.get(entry.accountId) ?? []), entry.version]);
  }
  return byAccount;
}

function expectHeld(mode: DeliveryMode, entries: readonly { accountId: string; version: number }[], deliveries: readonly Delivery[]): void {
  const arrivals = firstArrivals(entries);
  const expected = new Map<string, number[]>();
  for (const { record } of deliveries) expected.set(record.accountId, [...(expected.get(record.accountId) ?? []), record.version]);
  for (const [accountId, versions] of expected) {
    const got = arrivals.get(accountId) ?? [];
    if (mode === 'latest-state') expect(Math.max(...got), accountId).toBe(Math.max(...versions));
    else if (mode === 'in-order') expect(got, accountId).toEqual(versions);
    else expect([...got].sort((a, b) => a - b), accountId).toEqual(versions);
  }
}

/**
 * `in-order`, what the engine relies on when it hands a call several versions of one account (watermark+1, +2, ...,
 * in that order): each account's versions reach the destination in the order given, and none after the first one that
 * failed in the call. What the destination holds of an account is therefore a prefix of its versions in the call up to
 * and including the first failed one (a failed version itself may have landed: a request that timed out).
 */
function expectNoneOvertaken(
  entries: readonly { accountId: string; version: number }[],
  deliveries: readonly Delivery[],
  results: readonly DeliveryResult[],
): void {
  const arrivals = firstArrivals(entries);
  const allowed = new Map<string, number[]>();
  const stopped = new Set<string>();
  deliveries.forEach(({ record }, index) => {
    if (stopped.has(record.accountId)) return;
    allowed.set(record.accountId, [...(allowed.get(record.accountId) ?? []), record.version]);
    if (results[index]?.status === 'failed') stopped.add(record.accountId);
  });
  for (const [accountId, versions] of allowed) {
    const got = arrivals.get(accountId) ?? [];
    expect(got, `${accountId}: held ${got.join(',')} of ${versions.join(',')} (sent up to its first failed version)`).toEqual(versions.slice(0, got.length));
  }
}

const failed = (result: DeliveryResult | undefined) => result as DeliveryResult & { status: 'failed' };

/** One check of the contract, to run as a test or, against a deliberately broken adapter, to see it fail. */
export interface ContractCheck {
  readonly name: string;
  /** Whether the check applies to this destination (its mode, its options). */
  readonly applies: boolean;
  run(): Promise<void>;
}

/** Runs every check of the contract that applies to the destination, as tests of one `describe`. */
export function describeDestinationContract(
  plugin: { readonly name: string; readonly mode: DeliveryMode },
  makeEnv: MakeContractEnv,
  options: ContractOptions = {},
): void {
  describe(`destination contract: ${plugin.name} (${plugin.mode})`, () => {
    for (const check of destinationContractChecks(plugin, makeEnv, options)) it.runIf(check.applies)(check.name, () => check.run());
  });
}

/** The contract's checks, each building its own environment: `describeDestinationContract` runs them as tests. */
export function destinationContractChecks(
  plugin: { readonly name: string; readonly mode: DeliveryMode },
  makeEnv: MakeContractEnv,
  options: ContractOptions = {},
): ContractCheck[] {
  const withEnv = async (test: (env: ContractEnv, retrier: Retrier) => Promise<void>): Promise<void> => {
    const retrier = new Retrier({ policy: { maxAttempts: 4, baseDelayMs: 0, maxDelayMs: 0 } });
    const env = await makeEnv({ retrier });
    try {
      await test(env, retrier);
    } finally {
      await env.close();
    }
  };
  const check = (name: string, test: (env: ContractEnv, retrier: Retrier) => Promise<void>, applies = true): ContractCheck => ({
    name,
    applies,
    run: () => withEnv(test),
  });
  const inOrder = plugin.mode === 'in-order';

  return [
    check('is named and moded as its plug-in says', async ({ destination }) => {
      expect(destination.name).toBe(plugin.name);
      expect(destination.mode).toBe(plugin.mode);
    }),

    check('answers once per delivery, in order, and the destination holds each as its mode promises', async (env) => {
      const deliveries = contractDeliveries(12, 3);
      const results = await env.destination.deliver(deliveries);
      expect(results).toHaveLength(deliveries.length);
      expect(results.every((result) => result.status === 'delivered')).toBe(true);
      expectHeld(plugin.mode, await env.readBack(), deliveries);
      if (options.maxEntriesPerCall !== undefined && env.entriesPerCall) {
        expect(Math.max(...env.entriesPerCall())).toBeLessThanOrEqual(options.maxEntriesPerCall);
      }
    }),

    check('takes any account id the Accounts table does: non-Latin, spaces and marks, noncharacters, dots, 2,048 bytes', async (env) => {
      // Each is refused as it is somewhere: a header (above U+00FF), an SQS body (U+FFFE), a URL path (dots), a key
      // or id of bounded length (the long ones; the last two differ only at their end).
      const ids = ['账户-0001', 'Zoë Ωmega/1 #2 %3?', 'ACC-\uFFFE\uFFFF', '.', '..', `${'账'.repeat(682)}ab`, `${'x'.repeat(1_500)}-1`, `${'x'.repeat(1_500)}-2`];
      const deliveries: Delivery[] = ids.flatMap((accountId) => accountHistory(accountId, 2).map((record) => ({ record, healed: false, replay: false, epoch: 'live' })));
      const results = await env.destination.deliver(deliveries);
      expect(results.map((result) => result.status)).toEqual(deliveries.map(() => 'delivered'));
      expectHeld(plugin.mode, await env.readBack(), deliveries);
    }),

    check('takes a repeat harmlessly: delivered, duplicate or stale, and the destination still holds the same', async (env) => {
      const deliveries = contractDeliveries(4, 3);
      await env.destination.deliver(deliveries);
      const again = await env.destination.deliver(deliveries);
      expect(again.every((result) => ['delivered', 'duplicate', 'stale'].includes(result.status))).toBe(true);
      expectHeld(plugin.mode, await env.readBack(), deliveries);
    }),

    check('retries a retryable failure within its budget and counts the retries', async (env, retrier) => {
      const deliveries = contractDeliveries(3, 2);
      env.faults.failNextCalls(2);
      const results = await env.destination.deliver(deliveries);
      expect(results.map((result) => result.status)).toEqual(deliveries.map(() => 'delivered'));
      expect(retrier.takeRetries()).toBeGreaterThan(0);
      expectHeld(plugin.mode, await env.readBack(), deliveries);
    }),

    // The engine hands an in-order destination several versions of one account in one call (watermark+1, +2, ...,
    // in order: `deliverPlanned`, `deliverPlainRun`) and takes nothing of the account's answers after its first failed
    // one. The checks below make a version fail or land late in each way an adapter can get it wrong.

    // One account, so the failed call is one of its versions: failing a whole account's calls (as above) keeps its
    // versions in order even when they all go out at once; a single failure is what lets a later version overtake.
    check(
      'in-order: a version that fails once is not overtaken by its successors',
      async (env) => {
        const deliveries = contractDeliveries(1, 3);
        env.faults.failNextCalls(1);
        const results = await env.destination.deliver(deliveries);
        expect(results.map((result) => result.status)).toEqual(deliveries.map(() => 'delivered'));
        expect((await env.readBack()).map((entry) => entry.version)).toEqual([1, 2, 3]);
      },
      inOrder,
    ),

    // Without any failure, versions sent at once (a request each, a call each, per-account waves sent concurrently)
    // land in whatever order the network and the service give them; here, in reverse.
    check(
      'in-order: versions of one account in one call land in order even when requests in flight together arrive in reverse',
      async (env) => {
        const deliveries = contractDeliveries(3, 3);
        env.faults.landInReverse(true);
        const results = await env.destination.deliver(deliveries);
        env.faults.landInReverse(false);
        expect(results.map((result) => result.status)).toEqual(deliveries.map(() => 'delivered'));
        expectHeld(plugin.mode, await env.readBack(), deliveries);
      },
      inOrder,
    ),

    // Only version 2 is refused, so a version 3 sent after it would go through: what the engine then dead-letters as
    // version 2, the receiver would already have seen overtaken.
    check(
      'in-order: a version refused for good holds back its successors in the same call, and only its own account',
      async (env) => {
        const deliveries = contractDeliveries(2, 4);
        const refused = deliveries[0]!.record.accountId;
        env.faults.rejectVersion(refused, 2);
        const results = await env.destination.deliver(deliveries);
        deliveries.forEach(({ record }, index) => {
          const result = results[index];
          if (record.accountId !== refused || record.version === 1) expect(result?.status, keyOf(record)).toBe('delivered');
          else if (record.version === 2) expect(failed(result)).toMatchObject({ status: 'failed', reason: 'REJECTED', attempts: 1 });
          else expect(result?.status, keyOf(record)).toBe('failed');
        });
        const held = await env.readBack();
        expectNoneOvertaken(held, deliveries, results);
        expect(firstArrivals(held).get(refused)).toEqual([1]);
      },
      inOrder,
    ),

    // The retries of version 1 use up the budget and then the failures stop: a version 2 sent after it would land.
    check(
      'in-order: a version whose retries run out holds back its successors in the same call',
      async (env, retrier) => {
        const deliveries = contractDeliveries(1, 3);
        env.faults.failNextCalls(retrier.policy.maxAttempts);
        const results = await env.destination.deliver(deliveries);
        // Version 1 was sent (attempts > 0) and its retries ran out; its successors are not sent, or fail too.
        expect(failed(results[0])).toMatchObject({ status: 'failed', reason: 'DELIVERY_FAILED' });
        expect(failed(results[0]).attempts).toBeGreaterThan(0);
        for (const result of results.slice(1)) expect(result.status).toBe('failed');
        expectNoneOvertaken(await env.readBack(), deliveries, results);
      },
      inOrder,
    ),

    // every-version: the engine takes each answer on its own (a failed one is dead-lettered, the others committed), and
    // an audit log wants every version in any order: one refused version must not cost its account's others.
    check(
      'every-version: a version refused for good holds back none of its account\'s others',
      async (env) => {
        const deliveries = contractDeliveries(2, 3);
        const refused = deliveries[0]!.record;
        env.faults.rejectVersion(refused.accountId, 2);
        const results = await env.destination.deliver(deliveries);
        deliveries.forEach(({ record }, index) => {
          if (record.accountId === refused.accountId && record.version === 2) expect(failed(results[index])).toMatchObject({ status: 'failed', reason: 'REJECTED' });
          else expect(results[index]?.status, keyOf(record)).toBe('delivered');
        });
        const others = deliveries.filter(({ record }) => record.accountId !== refused.accountId || record.version !== 2);
        expectHeld(plugin.mode, await env.readBack(), others);
      },
      plugin.mode === 'every-version',
    ),

    check('answers DELIVERY_FAILED, never REJECTED, when a retryable failure outlasts the budget', async (env) => {
      const deliveries = contractDeliveries(2, 2);
      env.faults.failNextCalls(1_000);
      const results = await env.destination.deliver(deliveries);
      for (const result of results) expect(failed(result)).toMatchObject({ status: 'failed', reason: 'DELIVERY_FAILED' });
      expect(results.some((result) => failed(result).attempts >= 4)).toBe(true);
    }),

    check('answers REJECTED for a refused write, at once, and still delivers the other accounts', async (env, retrier) => {
      const deliveries = contractDeliveries(3, 2);
      const refused = deliveries[0]!.record.accountId;
      env.faults.rejectAccount(refused);
      const results = await env.destination.deliver(deliveries);
      retrier.takeRetries();
      deliveries.forEach(({ record }, index) => {
        const result = results[index];
        if (record.accountId !== refused) expect(result?.status).toBe('delivered');
        else if (record.version === 1 || plugin.mode !== 'in-order') {
          expect(failed(result)).toMatchObject({ status: 'failed', reason: 'REJECTED', attempts: 1 });
        }
        // in-order: what follows a refused version must not overtake it; it is held back (not sent) or refused.
        else expect(result?.status).toBe('failed');
      });
      if (inOrder) expectNoneOvertaken(await env.readBack(), deliveries, results);
    }),

    check(
      'answers REJECTED for a record over its size limit, without sending it',
      async (env) => {
        const big = contractDeliveries(1, 1, { padBytes: (options.maxRecordBytes ?? 0) + 1 });
        // With the service hanging, only a refusal made before any request answers REJECTED by the deadline.
        env.faults.hang(true);
        const [refused] = await env.destination.deliver(big, { deadline: Date.now() + 300 });
        expect(failed(refused)).toMatchObject({ status: 'failed', reason: 'REJECTED' });
        expect(failed(refused).detail).toContain(big[0]!.record.accountId);
        env.faults.hang(false);
        const small = contractDeliveries(1, 1);
        expect((await env.destination.deliver(small))[0]?.status).toBe('delivered');
        const held = (await env.readBack()).map(keyOf);
        expect(held).not.toContain(keyOf(big[0]!.record));
      },
      options.maxRecordBytes !== undefined,
    ),

    check('sends nothing when the deadline has already passed (attempts 0: the engine retries, not dead-letters)', async (env) => {
      const deliveries = contractDeliveries(2, 2);
      const results = await env.destination.deliver(deliveries, { deadline: Date.now() - 1 });
      for (const result of results) expect(failed(result)).toMatchObject({ status: 'failed', reason: 'DELIVERY_FAILED', attempts: 0 });
      expect(await env.readBack()).toEqual([]);
    }),

    check('answers by the deadline when the service stops answering, with nothing delivered', async (env) => {
      const deliveries = contractDeliveries(2, 2);
      env.faults.hang(true);
      const started = Date.now();
      const results = await env.destination.deliver(deliveries, { deadline: started + 300 });
      expect(Date.now() - started).toBeLessThan(1_500);
      for (const result of results) expect(failed(result)).toMatchObject({ status: 'failed', reason: 'DELIVERY_FAILED' });
      env.faults.hang(false);
      expect(await env.readBack()).toEqual([]);
    }),
  ];
}
