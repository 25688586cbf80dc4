import type { LedgerQueueMessage } from '../../destinations/ledger-queue/runtime';
import { CreateQueueCommand, SendMessageBatchCommand, SendMessageCommand, type SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueReader } from '../../local/standins/queue-reader';
import { SqsFifoQueue } from '../../destinations/ledger-queue/runtime';
import type { LocalStandIn } from '../../local/plugins/local-plugin';
import { classifyError } from '../../shared/retry/classify-error';
import { Retrier } from '../../shared/retry/retrier';
import { contractDeliveries } from '../support/destination-contract';
import { startLedgerQueueLocal, type LedgerQueueLocal } from '../support/ledger-queue-local';

/**
 * `npm start -- --fail ledger-queue:<rate>`: the ledger-queue stand-in puts a fault proxy in front of fauxqs SQS for
 * the function, which answers that fraction of SendMessageBatch calls on the ledger queue as SQS does on an internal
 * error. Checked with the real SDK client (its query-compatible JSON error parsing) and the real adapter.
 */
describe('ledger-queue locally: failCalls through a fault proxy in front of fauxqs SQS', () => {
  let local: LedgerQueueLocal;
  let direct: SQSClient;
  let standIn: LocalStandIn;
  let viaProxy: SQSClient;
  let queueUrl: string;

  beforeAll(async () => {
    local = await startLedgerQueueLocal('-fail-calls');
    ({ direct, standIn, viaProxy, queueUrl } = local);
  });

  afterAll(() => local?.stop());

  const batch = (url: string, id: string) =>
    new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: '0', MessageBody: '{}', MessageGroupId: id, MessageDeduplicationId: id }] });

  it("puts the function's SQS endpoint on the proxy, and passes everything through while no fault is on", async () => {
    expect(standIn.environment.AWS_ENDPOINT_URL_SQS).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(standIn.environment.AWS_ENDPOINT_URL_SQS).not.toBe(local.fauxqsEndpoint);
    const answer = await viaProxy.send(batch(queueUrl, 'through'));
    expect(answer.Successful).toHaveLength(1);
  });

  it("answers SendMessageBatch on the ledger queue with SQS's internal error, as the SDK parses it, and nothing else", async () => {
    standIn.failCalls?.(1, 1);
    try {
      const error = await viaProxy.send(batch(queueUrl, 'failed')).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(SQSServiceException);
      // The query-compatible code of x-amzn-query-error names the error, as before SQS moved to JSON.
      expect(error).toMatchObject({ name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
      expect(classifyError(error)).toBe('retry');

      // The raw answer, as SQS sends it in the AWS JSON 1.0 protocol.
      const raw = await fetch(standIn.environment.AWS_ENDPOINT_URL_SQS as string, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.SendMessageBatch' },
        body: JSON.stringify({ QueueUrl: queueUrl, Entries: [] }),
      });
      expect(raw.status).toBe(500);
      expect(raw.headers.get('x-amzn-query-error')).toBe('InternalError;Receiver');
      expect(raw.headers.get('content-type')).toBe('application/x-amz-json-1.0');
      expect(raw.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
      expect(await raw.json()).toEqual({ __type: 'com.amazon.coral.service#InternalFailure', message: expect.any(String) });

      // Other calls on the ledger queue, and batches to another queue (a dead-letter queue on the same fauxqs), pass.
      await expect(viaProxy.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{}', MessageGroupId: 'g', MessageDeduplicationId: 'single' }))).resolves.toBeDefined();
      const { QueueUrl: other } = await direct.send(new CreateQueueCommand({ QueueName: 'fail-calls-dlq' }));
      const passed = await viaProxy.send(new SendMessageBatchCommand({ QueueUrl: other, Entries: [{ Id: '0', MessageBody: '{}' }] }));
      expect(passed.Successful).toHaveLength(1);
    } finally {
      standIn.failCalls?.(0, 1);
    }
  });

  it('makes the adapter retry within its budget and answer DELIVERY_FAILED, never REJECTED; a lower rate only slows it down', async () => {
    const retrier = new Retrier({ policy: { maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0 } });
    const adapter = new SqsFifoQueue({ client: viaProxy, queueUrl, retrier });

    standIn.failCalls?.(1, 1);
    const down = await adapter.deliver(contractDeliveries(2, 1));
    expect(down).toEqual(down.map(() => ({ status: 'failed', reason: 'DELIVERY_FAILED', attempts: 3, detail: expect.stringContaining('InternalError (HTTP 500)') })));
    expect(retrier.takeRetries()).toBe(4);

    standIn.failCalls?.(0.5, 7);
    const flaky = new SqsFifoQueue({ client: viaProxy, queueUrl, retrier: new Retrier({ policy: { maxAttempts: 20, baseDelayMs: 0, maxDelayMs: 0 } }) });
    const deliveries = contractDeliveries(3, 2);
    expect(await flaky.deliver(deliveries)).toEqual(deliveries.map(() => ({ status: 'delivered' })));

    standIn.failCalls?.(0, 1);
    // Read as the ledger service would (the earlier tests' raw messages are not ledger messages: left out).
    const received = (await new QueueReader<LedgerQueueMessage>(direct, queueUrl).drain()).filter(({ body }) => typeof body.accountId === 'string');
    expect(received.map(({ body }) => `${body.accountId}#${body.version}`).sort()).toEqual(
      deliveries.map(({ record }) => `${record.accountId}#${record.version}`).sort(),
    );
  });
});
