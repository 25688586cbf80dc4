import { SendMessageBatchCommand, type SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ledgerQueueLocal } from '../../destinations/ledger-queue/local';
import { SqsFifoQueue, type LedgerQueueMessage } from '../../destinations/ledger-queue/runtime';
import type { LocalStandIn } from '../../local/plugins/local-plugin';
import { parseDestinationFaults, type FaultRule } from '../../local/standins/fault-spec';
import { QueueReader } from '../../local/standins/queue-reader';
import { classifyError } from '../../shared/retry/classify-error';
import { Retrier } from '../../shared/retry/retrier';
import { contractDeliveries } from '../support/destination-contract';
import { startLedgerQueueLocal, type LedgerQueueLocal } from '../support/ledger-queue-local';

/**
 * `npm start -- --destination-faults ledger-queue:<fault>:<rate>`: the ledger-queue stand-in's SQS fault proxy in front
 * of fauxqs, driven by the plug-in's declared faults, checked with the real SDK client and the real adapter.
 */
describe('ledger-queue locally: --destination-faults through the SQS fault proxy', () => {
  let local: LedgerQueueLocal;
  let standIn: LocalStandIn;
  let viaProxy: SQSClient;
  let queueUrl: string;
  let reader: QueueReader<LedgerQueueMessage>;

  beforeAll(async () => {
    local = await startLedgerQueueLocal('-destination-faults');
    ({ standIn, viaProxy, queueUrl } = local);
    reader = new QueueReader<LedgerQueueMessage>(local.direct, queueUrl);
  });

  afterEach(() => standIn.injectFaults?.([], 1));

  afterAll(() => local?.stop());

  /** What the stand-in injected since `since` (its counters only grow). */
  const injectedSince = (since: Readonly<Record<string, number>>): Record<string, number> =>
    Object.fromEntries(
      Object.entries(standIn.injectedCounts?.() ?? {})
        .map(([name, count]) => [name, count - (since[name] ?? 0)] as const)
        .filter(([, count]) => count > 0),
    );
  const rules = (spec: string): readonly FaultRule[] =>
    parseDestinationFaults(spec, new Map([['ledger-queue', ledgerQueueLocal.faults]])).rules;
  const batch = (ids: string[]) =>
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: ids.map((id, index) => ({ Id: String(index), MessageBody: JSON.stringify({ id }), MessageGroupId: id, MessageDeduplicationId: id })),
    });

  it('declares SQS faults, and `all` takes its share of each', () => {
    expect(Object.keys(ledgerQueueLocal.faults?.kinds ?? {}).sort()).toEqual(['500', 'partial', 'slow', 'throttle']);
    expect(rules('all').map((rule) => `${rule.fault}:${rule.rate}`)).toEqual(['throttle:0.05', '500:0.05', 'partial:0.05', 'slow:0.01']);
  });

  it('throttles and fails whole calls as SQS does, as the SDK parses them, sending nothing of them', async () => {
    const before = standIn.injectedCounts?.() ?? {};
    standIn.injectFaults?.(rules('ledger-queue:throttle:1'), 1);
    const throttled = await viaProxy.send(batch(['t1'])).catch((caught: unknown) => caught);
    expect(throttled).toBeInstanceOf(SQSServiceException);
    expect(throttled).toMatchObject({ name: 'RequestThrottled', $metadata: { httpStatusCode: 400 } });
    expect(classifyError(throttled)).toBe('retry');

    standIn.injectFaults?.(rules('ledger-queue:500:1'), 1);
    const failed = await viaProxy.send(batch(['f1'])).catch((caught: unknown) => caught);
    expect(failed).toMatchObject({ name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
    expect(classifyError(failed)).toBe('retry');
    expect(injectedSince(before)).toEqual({ throttledCalls: 1, failedCalls: 1 });
    expect(await reader.drain()).toEqual([]);
  });

  it('fails some entries of a call and sends the others: the queue holds exactly what the answer calls successful', async () => {
    const before = standIn.injectedCounts?.() ?? {};
    standIn.injectFaults?.(rules('ledger-queue:partial:0.5'), 3);
    const ids = Array.from({ length: 10 }, (_, index) => `p${index}`);
    const answer = await viaProxy.send(batch(ids));
    const failed = (answer.Failed ?? []).map((entry) => entry.Id);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThan(10);
    expect(answer.Failed?.every((entry) => entry.Code === 'InternalError' && entry.SenderFault === false)).toBe(true);
    expect(new Set([...failed, ...(answer.Successful ?? []).map((entry) => entry.Id)]).size).toBe(10);
    const sent = (answer.Successful ?? []).map((entry) => ids[Number(entry.Id)]);
    expect((await reader.drain()).map(({ body }) => (body as unknown as { id: string }).id).filter((id) => id.startsWith('p')).sort()).toEqual(sent.sort());
    expect(injectedSince(before)).toEqual({ failedEntries: failed.length });
  });

  it('holds calls when slow, and drops one whose client gave up unsent', async () => {
    const before = standIn.injectedCounts?.() ?? {};
    standIn.injectFaults?.(rules('ledger-queue:slow:1@2000'), 1);
    const abandoned = await viaProxy.send(batch(['s1']), { abortSignal: AbortSignal.timeout(200) }).catch((caught: unknown) => caught);
    expect(abandoned).toBeInstanceOf(Error);
    await new Promise((resolve) => setTimeout(resolve, 2_300));
    expect(injectedSince(before)).toEqual({ heldCalls: 1, abandonedCalls: 1 });
    standIn.injectFaults?.(rules('ledger-queue:slow:1@300'), 1);
    const started = Date.now();
    expect((await viaProxy.send(batch(['s2']))).Successful).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    const ids = (await reader.drain()).map(({ body }) => (body as unknown as { id: string }).id);
    expect(ids).toContain('s2');
    expect(ids).not.toContain('s1');
  });

  it('lets the adapter get every version through under `all`-like rates, in order per account', async () => {
    const before = standIn.injectedCounts?.() ?? {};
    standIn.injectFaults?.(rules('ledger-queue:throttle:0.2,ledger-queue:500:0.2,ledger-queue:partial:0.3'), 11);
    const adapter = new SqsFifoQueue({ client: viaProxy, queueUrl, retrier: new Retrier({ policy: { maxAttempts: 30, baseDelayMs: 0, maxDelayMs: 0 } }) });
    const deliveries = contractDeliveries(4, 3);
    expect(await adapter.deliver(deliveries)).toEqual(deliveries.map(() => ({ status: 'delivered' })));
    const counts = injectedSince(before);
    expect((counts.throttledCalls ?? 0) + (counts.failedCalls ?? 0) + (counts.failedEntries ?? 0)).toBeGreaterThan(0);
    const received = (await reader.drain()).filter(({ body }) => typeof body.accountId === 'string');
    for (const account of new Set(deliveries.map(({ record }) => record.accountId))) {
      expect(received.filter(({ body }) => body.accountId === account).map(({ body }) => body.version)).toEqual([1, 2, 3]);
    }
  });
});
