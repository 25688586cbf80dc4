import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Client } from '@opensearch-project/opensearch';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3AuditLog } from '../../consumers/audit/s3-audit-log';
import { EventBridgeBus } from '../../consumers/fraud/eventbridge-bus';
import type { FraudEventDetail } from '../../consumers/fraud/fraud-event';
import { OpenSearchIndex } from '../../consumers/search/opensearch-index';
import { startEventBridgeStandIn, type EventBridgeStandIn } from '../../local/standins/eventbridge/server';
import { startOpenSearchStandIn, type OpenSearchStandIn } from '../../local/standins/opensearch/server';
import { startS3CreateOnlyProxy, type S3CreateOnlyProxy } from '../../local/standins/s3-create-only-proxy';
import type { Delivery, DeliveryResult, Destination } from '../../shared/ordering/ports';
import { Retrier } from '../../shared/retry/retrier';
import { accountHistory } from '../support/histories';

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const delivery = (record: Delivery['record']): Delivery => ({ record, healed: false, replay: false, epoch: 'live' });
const deliveries = (...accounts: [string, number][]) => accounts.flatMap(([id, n]) => accountHistory(id, n)).map(delivery);
const quickRetrier = (maxAttempts = 6) => new Retrier({ policy: { maxAttempts, baseDelayMs: 1, maxDelayMs: 5 } });
/** How late a call may answer after its deadline: a timer's lateness and the answer's way back. */
const MARGIN_MS = 250;
/** Longer than any deadline here: a held request outlives its call unless the adapter aborts it. */
const HELD_MS = 5_000;

/** Delivers with a deadline `ms` from now; the call must answer by it (± MARGIN_MS), whatever the service does. */
async function deliverWithin(destination: Destination, items: readonly Delivery[], ms: number): Promise<readonly DeliveryResult[]> {
  const started = Date.now();
  const results = await destination.deliver(items, { deadline: started + ms });
  const took = Date.now() - started;
  expect(took).toBeLessThan(ms + MARGIN_MS);
  return results;
}

function expectDeadlineFailures(results: readonly DeliveryResult[]): void {
  for (const result of results) {
    expect(result).toMatchObject({ status: 'failed', reason: 'DELIVERY_FAILED' });
    expect(result.status === 'failed' && result.detail).toMatch(/no time left before the call's deadline|was not accepted/);
  }
}

describe('every adapter answers by its call deadline', () => {
  let openSearch: OpenSearchStandIn;
  let eventBridge: EventBridgeStandIn;
  let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
  let s3Proxy: S3CreateOnlyProxy;
  let searchClient: Client;
  let eventsClient: EventBridgeClient;
  let s3: S3Client;

  beforeAll(async () => {
    [openSearch, eventBridge, fauxqs] = await Promise.all([
      startOpenSearchStandIn(),
      startEventBridgeStandIn({ buses: ['fraud'] }),
      startFauxqs({ port: 0, logger: false }),
    ]);
    s3Proxy = await startS3CreateOnlyProxy(`http://127.0.0.1:${fauxqs.port}`);
    searchClient = new Client({ node: openSearch.endpoint, maxRetries: 0, requestTimeout: 10_000 });
    eventsClient = new EventBridgeClient({ endpoint: eventBridge.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    s3 = new S3Client({ endpoint: s3Proxy.endpoint, region: 'us-east-1', credentials, forcePathStyle: true, maxAttempts: 1 });
    await s3.send(new CreateBucketCommand({ Bucket: 'audit' }));
  });
  beforeEach(() => {
    openSearch.setFaults({});
    eventBridge.setFaults({});
    eventBridge.clear();
    s3Proxy.setFaults({});
  });
  afterAll(async () => {
    s3.destroy();
    eventsClient.destroy();
    await searchClient.close();
    await Promise.all([openSearch.stop(), eventBridge.stop(), s3Proxy.stop()]);
    await fauxqs.stop();
  });

  const audit = () => new S3AuditLog({ client: s3, bucket: 'audit', retrier: quickRetrier() });
  const search = (index: string, retrier = quickRetrier()) => new OpenSearchIndex({ client: searchClient, index, retrier });
  const fraud = (retrier = quickRetrier()) => new EventBridgeBus({ client: eventsClient, eventBusName: 'fraud', retrier });

  it('audit: aborts PutObjects held past the deadline, and none of them lands later', async () => {
    s3Proxy.setFaults({ slowRate: 1, slowMs: HELD_MS });
    const results = await deliverWithin(audit(), deliveries(['S1', 2], ['S2', 1]), 400);
    expectDeadlineFailures(results);
    expect(results[0]?.status === 'failed' && results[0].detail).toMatch(/^AbortError/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(s3Proxy.faultStats).toMatchObject({ held: 3, abandoned: 3 });
    expect(s3Proxy.created).toEqual([]);
  });

  it('search: aborts a _bulk held past the deadline, and it is never applied', async () => {
    // Index creation goes through first, so that the held request is the _bulk.
    await search('deadline').deliver(deliveries(['warm', 1]));
    openSearch.setFaults({ slowRate: 1, slowMs: HELD_MS });
    const results = await deliverWithin(search('deadline'), deliveries(['O1', 1], ['O2', 3]), 400);
    expectDeadlineFailures(results);
    expect(results[0]?.status === 'failed' && results[0].detail).toMatch(/^(RequestAbortedError|TimeoutError)/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(openSearch.stats.abandoned).toBe(1);
    expect(openSearch.documents('deadline').map((document) => document.id)).toEqual(['warm']);
  });

  it('fraud: aborts a PutEvents held past the deadline and holds back the accounts\' later versions', async () => {
    eventBridge.setFaults({ slowRate: 1, slowMs: HELD_MS });
    const results = await deliverWithin(fraud(), deliveries(['F1', 2], ['F2', 1]), 400);
    expectDeadlineFailures(results);
    expect(results.map((result) => result.status === 'failed' && result.attempts)).toEqual([1, 0, 1]);
    expect(results[1]?.status === 'failed' && results[1].detail).toMatch(/not sent: version 1 of account F1 was not accepted/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(eventBridge.stats).toMatchObject({ heldCalls: 1, abandonedCalls: 1, calls: 0 });
    expect(eventBridge.events()).toEqual([]);
  });

  it('never starts a retry whose backoff would outlast the deadline', async () => {
    eventBridge.setFaults({ throttleRate: 1 });
    const slowBackoff = new Retrier({ policy: { maxAttempts: 6, baseDelayMs: 10_000, maxDelayMs: 10_000 }, random: () => 0.9 });
    const started = Date.now();
    const [result] = await fraud(slowBackoff).deliver(deliveries(['R1', 1]), { deadline: started + 2_000 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result).toMatchObject({ status: 'failed', reason: 'DELIVERY_FAILED', attempts: 1 });
    expect(result?.status === 'failed' && result.detail).toMatch(/^ThrottlingException.*no time left before the call's deadline for attempt 2/);
  });

  it("bounds requests by the retrier's own deadline when the call has none", async () => {
    openSearch.setFaults({ slowRate: 1, slowMs: HELD_MS });
    const retrier = quickRetrier();
    retrier.deadline = Date.now() + 400;
    const started = Date.now();
    const results = await search('own-deadline', retrier).deliver(deliveries(['D1', 1]));
    expect(Date.now() - started).toBeLessThan(400 + MARGIN_MS);
    expect(results[0]).toMatchObject({ status: 'failed', reason: 'DELIVERY_FAILED' });
    expect(results[0]?.status === 'failed' && results[0].detail).toMatch(/no invocation time left/);
  });

  it('sends nothing when the deadline has already passed', async () => {
    const requests = openSearch.stats.requests;
    const results = await search('late').deliver(deliveries(['L1', 1]), { deadline: Date.now() - 1 });
    expect(results).toEqual([
      { status: 'failed', reason: 'DELIVERY_FAILED', detail: "not sent: no time left before the call's deadline", attempts: 0 },
    ]);
    expect(openSearch.stats.requests).toBe(requests);
  });
});

describe('adapters classify the stand-ins\' faults as AWS and OpenSearch mean them', () => {
  let openSearch: OpenSearchStandIn;
  let eventBridge: EventBridgeStandIn;
  let searchClient: Client;
  let eventsClient: EventBridgeClient;

  beforeAll(async () => {
    [openSearch, eventBridge] = await Promise.all([startOpenSearchStandIn(), startEventBridgeStandIn({ buses: ['fraud'] })]);
    searchClient = new Client({ node: openSearch.endpoint, maxRetries: 0 });
    eventsClient = new EventBridgeClient({ endpoint: eventBridge.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  });
  afterAll(async () => {
    eventsClient.destroy();
    await searchClient.close();
    await Promise.all([openSearch.stop(), eventBridge.stop()]);
  });

  it('search: retries write blocks, whole or per item, and gives up with DELIVERY_FAILED, never REJECTED', async () => {
    const index = new OpenSearchIndex({ client: searchClient, index: 'blocks', retrier: quickRetrier(3) });
    await index.deliver(deliveries(['warm', 1]));
    for (const faults of [{ writeBlockRate: 1 }, { itemWriteBlockRate: 1 }, { itemFloodStageRate: 1 }]) {
      openSearch.setFaults(faults);
      const [result] = await index.deliver(deliveries(['B1', 1]));
      expect(result, JSON.stringify(faults)).toMatchObject({ status: 'failed', reason: 'DELIVERY_FAILED', attempts: 3 });
      expect(result?.status === 'failed' && result.detail).toMatch(/cluster_block_exception/);
    }
    openSearch.setFaults({ writeBlockRate: 0.3, itemWriteBlockRate: 0.2, itemFloodStageRate: 0.2, throttleRate: 0.1, seed: 8 });
    const results = await new OpenSearchIndex({ client: searchClient, index: 'blocks', retrier: quickRetrier(20) }).deliver(
      deliveries(['C1', 3], ['C2', 2], ['C3', 1]),
    );
    expect(results.every((result) => result.status === 'delivered' || result.status === 'stale')).toBe(true);
    openSearch.setFaults({});
    expect(openSearch.documents('blocks').map((document) => [document.id, document.version])).toEqual([
      ['C1', 3], ['C2', 2], ['C3', 1], ['warm', 1],
    ]);
  });

  it('fraud: retries throttled calls and partly failed entries, one entry per account in flight, in version order', async () => {
    eventBridge.setFaults({ throttleRate: 0.3, entryFailureRate: 0.3, entryErrorCode: ['ThrottlingException', 'InternalFailure'], seed: 2 });
    const bus = new EventBridgeBus({ client: eventsClient, eventBusName: 'fraud', retrier: quickRetrier(20) });
    const results = await bus.deliver(deliveries(['E1', 4], ['E2', 3], ['E3', 2]));
    expect(results.every((result) => result.status === 'delivered')).toBe(true);
    expect((eventBridge.stats.failedCalls ?? 0) + (eventBridge.stats.failedEntries ?? 0)).toBeGreaterThan(0);
    const events = eventBridge.events('fraud').map((event) => ({ call: event.call, ...(event.detail as FraudEventDetail) }));
    for (const account of ['E1', 'E2', 'E3']) {
      const mine = events.filter((event) => event.accountId === account);
      expect(mine.map((event) => event.version)).toEqual(Array.from({ length: mine.length }, (_, i) => i + 1));
      expect(new Set(mine.map((event) => event.call)).size).toBe(mine.length);
    }
  });
});
