import { CreateEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BUS_CHECK_INTERVAL_MS, EventBridgeBus } from '../../consumers/fraud/eventbridge-bus';
import type { FraudEventDetail } from '../../consumers/fraud/fraud-event';
import { startEventBridgeStandIn, type EventBridgeStandIn } from '../../local/standins/eventbridge/server';
import type { Delivery } from '../../shared/ordering/ports';
import { Retrier } from '../../shared/retry/retrier';
import { accountHistory } from '../support/histories';

const delivery = (record: Delivery['record']): Delivery => ({ record, healed: false, replay: false, epoch: 'live' });

describe('EventBridgeBus adapter: never two events of one account in flight', () => {
  let standIn: EventBridgeStandIn;
  let client: EventBridgeClient;
  const bus = 'fraud-adapter';

  beforeAll(async () => {
    standIn = await startEventBridgeStandIn({ buses: [bus] });
    client = new EventBridgeClient({ endpoint: standIn.endpoint, region: 'us-east-1', maxAttempts: 1 });
  });
  beforeEach(() => {
    standIn.clear();
    standIn.setFaults({});
  });
  afterAll(async () => {
    client.destroy();
    await standIn.stop();
  });

  const adapter = (maxAttempts = 4) =>
    new EventBridgeBus({ client, eventBusName: bus, retrier: new Retrier({ policy: { maxAttempts, baseDelayMs: 1, maxDelayMs: 2 } }) });

  it('sends several versions of one account in successive calls, one entry per account per call, at most 10 entries', async () => {
    const a = accountHistory('A', 3);
    const others = Array.from({ length: 12 }, (_, i) => accountHistory(`B${i}`, 1)[0] as Delivery['record']);
    const deliveries = [...a, ...others].map(delivery);

    const results = await adapter().deliver(deliveries);

    expect(results.every((result) => result.status === 'delivered')).toBe(true);
    const events = standIn.events(bus);
    const calls = new Map<number, string[]>();
    for (const event of events) calls.set(event.call, [...(calls.get(event.call) ?? []), (event.detail as FraudEventDetail).accountId]);
    for (const accounts of calls.values()) {
      expect(accounts.length).toBeLessThanOrEqual(10);
      expect(new Set(accounts).size).toBe(accounts.length);
    }
    const versionsOfA = events.filter((e) => (e.detail as FraudEventDetail).accountId === 'A').map((e) => [e.call, (e.detail as FraudEventDetail).version]);
    expect(versionsOfA.map(([, version]) => version)).toEqual([1, 2, 3]);
    // Each version of A went out in a later call than the one before it, after that one was accepted.
    expect(versionsOfA[0]![0]! < versionsOfA[1]![0]! && versionsOfA[1]![0]! < versionsOfA[2]![0]!).toBe(true);
  });

  it('holds back an account\'s later versions when one is refused, and lets other accounts through', async () => {
    standIn.setFaults({
      rejectEntry: (entry) => {
        const detail = entry.detail as FraudEventDetail;
        return detail.accountId === 'A' && detail.version === 2 ? { errorCode: 'InvalidArgument', errorMessage: 'no' } : undefined;
      },
    });
    const deliveries = [...accountHistory('A', 3), ...accountHistory('C', 2)].map(delivery);

    const results = await adapter().deliver(deliveries);

    expect(results.map((result) => result.status)).toEqual(['delivered', 'failed', 'failed', 'delivered', 'delivered']);
    expect(results[1]).toMatchObject({ reason: 'REJECTED', attempts: 1 });
    expect(results[2]).toMatchObject({ reason: 'DELIVERY_FAILED', attempts: 0 });
    expect(standIn.events(bus).map((e) => (e.detail as FraudEventDetail).eventId).sort()).toEqual(['A#1', 'C#1', 'C#2']);
  });

  it('retries only the failed entries of a partly failed call, and gives up with DELIVERY_FAILED', async () => {
    standIn.setFaults({ entryFailureRate: 1 });
    const results = await adapter(3).deliver(accountHistory('D', 1).map(delivery));
    expect(results).toEqual([{ status: 'failed', reason: 'DELIVERY_FAILED', detail: expect.stringContaining('InternalFailure'), attempts: 3 }]);
    expect(standIn.stats.failedEntries).toBe(3);
  });
});

describe('EventBridgeBus adapter: a bus that does not exist', () => {
  let standIn: EventBridgeStandIn;
  let client: EventBridgeClient;

  beforeAll(async () => {
    standIn = await startEventBridgeStandIn({ buses: ['fraud-real'] });
    client = new EventBridgeClient({ endpoint: standIn.endpoint, region: 'us-east-1', maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await standIn.stop();
  });

  it('fails every delivery with a reason an operator can act on (EventBridge would accept and drop them), and finds the bus once it is there', async () => {
    let now = 1_000_000;
    const bus = new EventBridgeBus({ client, eventBusName: 'fraud-typo', clock: () => now, retrier: new Retrier({ policy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } }) });
    const deliveries = [...accountHistory('A', 2), ...accountHistory('B', 1)].map(delivery);

    const results = await bus.deliver(deliveries);

    expect(results.map((result) => result.status)).toEqual(['failed', 'failed', 'failed']);
    expect(results[0]).toMatchObject({ reason: 'DELIVERY_FAILED', detail: expect.stringContaining('event bus fraud-typo does not exist') });
    expect(standIn.events('fraud-typo')).toEqual([]);

    // Created since: the next delivery asks again and goes through.
    await client.send(new CreateEventBusCommand({ Name: 'fraud-typo' }));
    now += 1;
    const again = await bus.deliver(deliveries);
    expect(again.map((result) => result.status)).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('asks once per check interval while the bus exists', async () => {
    let now = 1_000_000;
    const bus = new EventBridgeBus({ client, eventBusName: 'fraud-real', clock: () => now, retrier: new Retrier({ policy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } }) });
    // Requests other than PutEvents calls: the DescribeEventBus questions.
    const asked = (): number => (standIn.stats.requests ?? 0) - (standIn.stats.calls ?? 0);
    const before = asked();
    await bus.deliver(accountHistory('C', 3).map(delivery));
    now += BUS_CHECK_INTERVAL_MS - 1;
    await bus.deliver(accountHistory('D', 1).map(delivery));
    expect(asked() - before).toBe(1);
    now += 2;
    await bus.deliver(accountHistory('E', 1).map(delivery));
    expect(asked() - before).toBe(2);
  });
});
