import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFraudRuntime } from '../../consumers/fraud/handler';
import type { FraudEventDetail } from '../../consumers/fraud/fraud-event';
import type { ChangeFeed } from '../../local/change-feed';
import type { ReceivedEvent } from '../../local/standins/eventbridge/server';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import type { BuiltRuntime } from '../../shared/consumer/runtime';
import { startConsumerWorld, type ConsumerWorld } from '../support/consumer-world';
import { feedHandler, RecordingTelemetry } from '../support/feed-handler';
import { chaoticFeed } from '../support/feeds';

describe('fraud consumer: Kinesis events → EventBridge, each account in version order', () => {
  let world: ConsumerWorld;
  let feed: ChangeFeed;
  const runtimes: BuiltRuntime[] = [];

  const fraudHandler = (overrides: Record<string, string> = {}) => {
    const telemetry = new RecordingTelemetry();
    const runtime = createFraudRuntime(world.env('fraud', overrides), { telemetry });
    runtimes.push(runtime);
    return { handler: createKinesisHandler(() => runtime), telemetry };
  };

  /** Each account's event versions in the order the bus received them. */
  const receivedOrder = (events: readonly ReceivedEvent[]) => {
    const byAccount = new Map<string, number[]>();
    for (const event of events) {
      const { accountId, version } = event.detail as FraudEventDetail;
      byAccount.set(accountId, [...(byAccount.get(accountId) ?? []), version]);
    }
    return byAccount;
  };

  const expectEveryAccountInOrder = (events: readonly ReceivedEvent[]) => {
    const byAccount = receivedOrder(events);
    expect(byAccount.size).toBe(feed.truth.finalVersions.size);
    for (const [accountId, final] of feed.truth.finalVersions) {
      expect(byAccount.get(accountId), accountId).toEqual(Array.from({ length: final }, (_, i) => i + 1));
    }
  };

  const expectOneEntryPerAccountPerCall = (events: readonly ReceivedEvent[]) => {
    const calls = new Map<number, string[]>();
    for (const event of events) calls.set(event.call, [...(calls.get(event.call) ?? []), (event.detail as FraudEventDetail).accountId]);
    for (const accounts of calls.values()) {
      expect(accounts.length).toBeLessThanOrEqual(10);
      expect(new Set(accounts).size).toBe(accounts.length);
    }
  };

  beforeAll(async () => {
    world = await startConsumerWorld('fraud');
    feed = await chaoticFeed(world);
  });
  beforeEach(() => {
    world.eventBridge.clear();
    world.eventBridge.setFaults({});
  });
  afterAll(async () => {
    for (const runtime of runtimes) runtime.close();
    await world?.stop();
  });

  it('puts every version of every account on the bus exactly once and in version order', async () => {
    const { handler, telemetry } = fraudHandler();

    const { gaveUp } = await feedHandler(handler, feed.feeds);

    expect(gaveUp).toEqual([]);
    const events = world.eventBridge.events(world.bus);
    expectEveryAccountInOrder(events);
    expectOneEntryPerAccountPerCall(events);
    const totals = telemetry.totals();
    expect(totals.deadLettered + totals.failures).toBe(0);
    expect(totals.duplicates).toBeGreaterThan(0);
  });

  it('describes each change in the event detail, with a deterministic event id', () => {
    const events = world.eventBridge.events(world.bus);
    for (const event of events) {
      const detail = event.detail as FraudEventDetail;
      expect(event.source).toBe('ordered-fanout.accounts');
      expect(detail.eventId).toBe(`${detail.accountId}#${detail.version}`);
      expect(detail.previousVersion).toBe(detail.version - 1);
      expect(detail.newBalance).toBe(feed.truth.history.get(detail.accountId)?.get(detail.version));
      expect(detail.amount).toBe((detail.newBalance ?? 0) - (detail.oldBalance ?? 0));
      expect(detail).toMatchObject({ healed: false, replay: false, epoch: 'live' });
      expect(detail.occurredAt).toMatch(/\.\d{6}Z$/);
      expect(event.detailType).toBe(detail.version === 1 ? 'AccountOpened' : detail.changeType === 'CLOSED' ? 'AccountClosed' : 'BalanceChanged');
    }
  });

  it('retries failed entries one by one and still keeps every account in order', async () => {
    world.eventBridge.setFaults({ entryFailureRate: 0.2, seed: 11 });
    const { handler, telemetry } = fraudHandler({ LEDGER_EPOCH: 'flaky-1', EPOCH_BASELINE: 'from-version-1', DELIVERY_MAX_ATTEMPTS: '12' });

    const { gaveUp } = await feedHandler(handler, feed.feeds);

    expect(gaveUp).toEqual([]);
    expect(world.eventBridge.stats.failedEntries).toBeGreaterThan(0);
    const events = world.eventBridge.events(world.bus);
    expectEveryAccountInOrder(events);
    expectOneEntryPerAccountPerCall(events);
    expect(telemetry.totals().retries).toBe(world.eventBridge.stats.failedEntries);
    for (const event of events) expect(event.detail).toMatchObject({ replay: true, epoch: 'flaky-1' });
  });

  it('dead-letters a schema rejection at once and holds that account back, in order, until it is redriven', async () => {
    world.eventBridge.setFaults({
      rejectEntry: (entry) =>
        (entry.detail as FraudEventDetail).version === 2 ? { errorCode: 'InvalidArgument', errorMessage: 'schema says no' } : undefined,
    });
    const { handler, telemetry } = fraudHandler({ LEDGER_EPOCH: 'schema-1', EPOCH_BASELINE: 'from-version-1' });

    const { gaveUp } = await feedHandler(handler, feed.feeds);

    expect(gaveUp).toEqual([]);
    const letters = await world.drainDeadLetters('fraud');
    const accounts = [...feed.truth.finalVersions].filter(([, final]) => final >= 2).map(([id]) => id);
    // A copy of a dead-lettered version that arrives again (here: a duplicate on the other shard) is tried again, as
    // a redrive would be, and refused again: a version may have more than one letter, never none.
    expect([...new Set(letters.map((letter) => letter.accountId))].sort()).toEqual(accounts.sort());
    for (const letter of letters) {
      expect(letter).toMatchObject({ reason: 'REJECTED', version: 2, attempts: 1 });
      expect(letter.detail).toContain('InvalidArgument');
    }
    // Nothing after a rejected version went out: each account stopped at version 1.
    for (const versions of receivedOrder(world.eventBridge.events(world.bus)).values()) expect(versions).toEqual([1]);
    const totals = telemetry.totals();
    expect(totals.parked).toBeGreaterThan(0);
    expect(totals.failures).toBe(0);
  });
});
