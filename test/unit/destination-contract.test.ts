import { describe, expect, test } from 'vitest';
import { RecordingDestination } from '../../local/recording-destination';
import { describeRecord, type ChangeRecord } from '../../shared/change-record/change-record';
import { settledToResult } from '../../shared/consumer/settled-to-result';
import { deliverInAccountWaves } from '../../shared/destination-plugin/account-waves';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { DeliverOptions, Delivery, DeliveryResult, Destination } from '../../shared/ordering/ports';
import { withDeadline } from '../../shared/retry/deadline';
import type { ItemAnswer, Retrier } from '../../shared/retry/retrier';
import { describeDestinationContract, destinationContractChecks, type ContractCheck, type MakeContractEnv } from '../support/destination-contract';
import { harness } from '../support/engine-harness';
import { applyCallFaults, clientFaultState, contractFaults, isRefused } from '../support/faulty-client';
import { accountHistory, duplicateOf } from '../support/histories';

/**
 * The destination contract's own tests: what the engine hands a destination in one call, per mode (so what the
 * contract must check), and that the contract fails adapters that get an `in-order` account's versions in one call
 * wrong while correct ones pass.
 */

/** A service in memory behind the contract's faults: each request lands (is held) the moment the faults let it. */
class MemoryService {
  readonly state = clientFaultState();
  readonly held: { accountId: string; version: number }[] = [];

  /** One request carrying `deliveries`: each is taken or refused; a faulted request answers retry for all. */
  async put(deliveries: readonly Delivery[], signal: AbortSignal | undefined): Promise<ItemAnswer<DeliveryResult>[]> {
    try {
      await applyCallFaults(this.state, deliveries.length, signal);
    } catch (error) {
      return deliveries.map(() => ({ kind: 'retry', detail: (error as Error).message }));
    }
    if (signal?.aborted) return deliveries.map(() => ({ kind: 'retry', detail: 'aborted' }));
    return deliveries.map(({ record }) => {
      if (isRefused(this.state, record.accountId, record.version)) return { kind: 'reject', detail: `${describeRecord(record)}: refused` };
      this.held.push({ accountId: record.accountId, version: record.version });
      return { kind: 'done', result: { status: 'delivered' } };
    });
  }
}

type Adapter = (service: MemoryService, retrier: Retrier) => Destination['deliver'];

/** `deliveries` sent in one request per round, retried within the budget and the call's deadline. */
async function settleTogether(service: MemoryService, retrier: Retrier, deliveries: readonly Delivery[], options: DeliverOptions = {}): Promise<DeliveryResult[]> {
  const settled = await retrier.settle(deliveries, (pending, _attempt, round) => withDeadline(round.deadline, (signal) => service.put(pending, signal)), options);
  return settled.map(settledToResult);
}

/** Indexes of each account's deliveries, in call order. */
function byAccount(deliveries: readonly Delivery[]): number[][] {
  const groups = new Map<string, number[]>();
  deliveries.forEach(({ record }, index) => groups.set(record.accountId, [...(groups.get(record.accountId) ?? []), index]));
  return [...groups.values()];
}

// Correct adapters.
/** in-order as the plug-in kit does it: one version per account per request, the next only once it was accepted. */
const inAccountWaves: Adapter = (service, retrier) => (deliveries, options) =>
  deliverInAccountWaves(deliveries, retrier, (wave, signal) => service.put(wave, signal), options);
/** every-version and latest-state: everything in one request per round. */
const allTogether: Adapter = (service, retrier) => (deliveries, options) => settleTogether(service, retrier, deliveries, options);

// Broken in-order adapters: each passed some check of the contract before, and the brief's examples.
/** Every delivery its own request, all at once (a bulk write that fans out per delivery), each retried on its own. */
const allAtOnce: Adapter = (service, retrier) => (deliveries, options) =>
  Promise.all(deliveries.map((delivery) => settleTogether(service, retrier, [delivery], options).then(([result]) => result as DeliveryResult)));
/** Account waves, but each account's versions taken in reverse. */
const reversed: Adapter = (service, retrier) => async (deliveries, options) => {
  const order = byAccount(deliveries).flatMap((indexes) => [...indexes].reverse());
  const answers = await inAccountWaves(service, retrier)(order.map((index) => deliveries[index] as Delivery), options);
  const results = new Array<DeliveryResult>(deliveries.length);
  order.forEach((index, position) => (results[index] = answers[position] as DeliveryResult));
  return results;
};
/** Account waves in order, but a version that failed does not stop its account: its successors still go out. */
const carriesOn: Adapter = (service, retrier) => async (deliveries, options) => {
  const groups = byAccount(deliveries);
  const results = new Array<DeliveryResult>(deliveries.length);
  for (let wave = 0; groups.some((indexes) => wave < indexes.length); wave += 1) {
    const indexes = groups.flatMap((group) => (wave < group.length ? [group[wave] as number] : []));
    const answers = await settleTogether(service, retrier, indexes.map((index) => deliveries[index] as Delivery), options);
    indexes.forEach((index, position) => (results[index] = answers[position] as DeliveryResult));
  }
  return results;
};

function memoryContract(name: string, mode: DeliveryMode, adapter: Adapter): MakeContractEnv {
  return async ({ retrier }) => {
    const service = new MemoryService();
    return {
      destination: { name, mode, deliver: adapter(service, retrier) },
      faults: contractFaults(service.state),
      readBack: async () => service.held,
      entriesPerCall: () => service.state.entriesPerCall,
      close: async () => undefined,
    };
  };
}

/** The names of the applicable checks that fail. */
async function failingChecks(checks: readonly ContractCheck[]): Promise<string[]> {
  const failing: string[] = [];
  for (const check of checks) {
    if (!check.applies) continue;
    try {
      await check.run();
    } catch {
      failing.push(check.name);
    }
  }
  return failing;
}

const FAILS_ONCE = 'in-order: a version that fails once is not overtaken by its successors';
const LANDS_IN_REVERSE = 'in-order: versions of one account in one call land in order even when requests in flight together arrive in reverse';
const REFUSED_VERSION = 'in-order: a version refused for good holds back its successors in the same call, and only its own account';
const RETRIES_RUN_OUT = 'in-order: a version whose retries run out holds back its successors in the same call';
const EVERY_VERSION_REFUSED = "every-version: a version refused for good holds back none of its account's others";

// Correct adapters over the same service pass the whole contract, faults included.
describeDestinationContract({ name: 'memory', mode: 'in-order' }, memoryContract('memory', 'in-order', inAccountWaves));
describeDestinationContract({ name: 'memory', mode: 'every-version' }, memoryContract('memory', 'every-version', allTogether));
describeDestinationContract({ name: 'memory', mode: 'latest-state' }, memoryContract('memory', 'latest-state', allTogether));

describe('the destination contract fails an adapter that lets an in-order version overtake another of its call', () => {
  const checksOf = (adapter: Adapter, mode: DeliveryMode = 'in-order') =>
    destinationContractChecks({ name: 'broken', mode }, memoryContract('broken', mode, adapter));

  test('every version its own request, all at once: caught without any failure, by the requests landing in reverse', async () => {
    expect(await failingChecks(checksOf(allAtOnce))).toEqual([FAILS_ONCE, LANDS_IN_REVERSE, REFUSED_VERSION, RETRIES_RUN_OUT]);
  });

  test('each account\'s versions in reverse: caught by every check that delivers two versions of an account', async () => {
    expect(await failingChecks(checksOf(reversed))).toEqual([
      'answers once per delivery, in order, and the destination holds each as its mode promises',
      'takes any account id the Accounts table does: non-Latin, spaces and marks, noncharacters, dots, 2,048 bytes',
      'takes a repeat harmlessly: delivered, duplicate or stale, and the destination still holds the same',
      'retries a retryable failure within its budget and counts the retries',
      FAILS_ONCE,
      LANDS_IN_REVERSE,
      REFUSED_VERSION,
      RETRIES_RUN_OUT,
      'answers REJECTED for a refused write, at once, and still delivers the other accounts',
    ]);
  });

  test('version n+1 sent after version n failed in the same call: caught only by the new checks (it passed all the others)', async () => {
    expect(await failingChecks(checksOf(carriesOn))).toEqual([REFUSED_VERSION, RETRIES_RUN_OUT]);
  });

  test('every-version: an adapter that holds an account back behind a refused version is caught too', async () => {
    expect(await failingChecks(checksOf(inAccountWaves, 'every-version'))).toContain(EVERY_VERSION_REFUSED);
  });
});

/** A destination that records the deliveries of each call before the recording destination takes them. */
function spied(mode: DeliveryMode): { calls: Delivery[][]; destination: Destination; recording: RecordingDestination } {
  const recording = new RecordingDestination('dest', mode);
  const calls: Delivery[][] = [];
  const destination: Destination = {
    name: recording.name,
    mode,
    deliver: (deliveries, options) => {
      calls.push([...deliveries]);
      return recording.deliver(deliveries, options);
    },
  };
  return { calls, destination, recording };
}

/** Each account's versions in one call, in call order, and whether they sat side by side in the call. */
function accountsOf(call: readonly Delivery[]): Map<string, { versions: number[]; contiguous: boolean }> {
  const accounts = new Map<string, { versions: number[]; contiguous: boolean }>();
  call.forEach(({ record }, index) => {
    const seen = accounts.get(record.accountId);
    if (seen === undefined) accounts.set(record.accountId, { versions: [record.version], contiguous: true });
    else {
      seen.versions.push(record.version);
      seen.contiguous &&= call[index - 1]?.record.accountId === record.accountId;
    }
  });
  return accounts;
}

function shuffledBatch(accounts: number, versions: number): ChangeRecord[] {
  const records = Array.from({ length: accounts }, (_, a) => accountHistory(`E${a}`, versions)).flat();
  // A fixed interleaving: newest first, every third one duplicated, as Kinesis may hand them over.
  return [...records].reverse().flatMap((record, index) => (index % 3 === 0 ? [record, duplicateOf(record)] : [record]));
}

describe('what the engine hands a destination in one call', () => {
  // With per-batch commits (the default) the engine does give one call several versions of one in-order account,
  // under a claim and on the home lane: so the destination must keep them in order and stop the account at its first
  // failure, and the contract checks above are needed (an engine test could not replace them). With per-version
  // commits it hands over one version per account per call.
  test.each([
    ['per-batch', undefined],
    ['per-batch', 'shardId-000000000000'],
    ['per-version', undefined],
    ['per-version', 'shardId-000000000000'],
  ] as const)(
    'in-order (%s commits, lane %s): an account\'s versions in one call are always watermark+1, +2, ... side by side',
    async (inOrderCommit, lane) => {
      const { calls, destination, recording } = spied('in-order');
      const h = harness('in-order', { inOrderCommit, destination });
      await h.engine.process(shuffledBatch(4, 5), lane === undefined ? {} : { lane });

      for (let a = 0; a < 4; a += 1) expect(recording.versionsOf(`E${a}`)).toEqual([1, 2, 3, 4, 5]);
      const next = new Map<string, number>();
      let several = false;
      for (const call of calls) {
        for (const [accountId, { versions, contiguous }] of accountsOf(call)) {
          const from = next.get(accountId) ?? 1;
          expect(versions, accountId).toEqual(versions.map((_, index) => from + index));
          expect(contiguous, accountId).toBe(true);
          next.set(accountId, from + versions.length);
          several ||= versions.length > 1;
        }
      }
      expect(several).toBe(inOrderCommit === 'per-batch');
    },
  );

  test('in-order: the answers after an account\'s first failure in a call are not taken: the destination alone keeps successors out', async () => {
    const { destination, recording } = spied('in-order');
    const h = harness('in-order', { destination });
    // Version 2 is refused; a destination that still applied 3 and 4 would have them delivered overtaken, unnoticed.
    recording.intercept = ({ record }) =>
      record.version === 2 ? { status: 'failed', reason: 'REJECTED', detail: 'refused', attempts: 1 } : undefined;
    await h.engine.process(accountHistory('A', 4));

    expect(recording.versionsOf('A')).toEqual([1]);
    expect(h.deadLetters.letters.map((letter) => letter.version)).toEqual([2]);
    expect((await h.ledger.load(['A'])).get('A')).toMatchObject({ version: 1 });
  });

  test('every-version: several versions of one account in one call, each answer taken on its own', async () => {
    const { calls, destination, recording } = spied('every-version');
    const h = harness('every-version', { destination });
    recording.intercept = ({ record }) =>
      record.accountId === 'E0' && record.version === 2 ? { status: 'failed', reason: 'REJECTED', detail: 'refused', attempts: 1 } : undefined;
    await h.engine.process(shuffledBatch(3, 4));

    expect(calls.some((call) => [...accountsOf(call).values()].some(({ versions }) => versions.length > 1))).toBe(true);
    // A refused version costs only itself: its account's others are delivered and committed.
    expect(h.deadLetters.letters.map((letter) => `${letter.accountId}#${letter.version}`)).toEqual(['E0#2']);
    expect([...recording.versionsOf('E0')].sort()).toEqual([1, 3, 4]);
  });

  // latest-state: each account run delivers only its batch's newest version (`LatestStateRun`), so no call ever holds
  // two versions of one account; a destination need only refuse what is older than what it holds (across calls).
  test.each([false, true])('latest-state (destinationEnforced %s): never two versions of one account in one call', async (destinationEnforced) => {
    const { calls, destination, recording } = spied('latest-state');
    const h = harness('latest-state', { destination, destinationEnforced });
    await h.engine.process(shuffledBatch(5, 6));
    await h.engine.process(shuffledBatch(5, 6));

    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) for (const [accountId, { versions }] of accountsOf(call)) expect(versions, accountId).toHaveLength(1);
    for (let a = 0; a < 5; a += 1) expect(recording.versionsOf(`E${a}`).at(-1)).toBe(6);
  });
});
