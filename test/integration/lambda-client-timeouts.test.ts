import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditRuntime } from '../../consumers/audit/handler';
import { createFraudRuntime } from '../../consumers/fraud/handler';
import { createSearchRuntime } from '../../consumers/search/handler';
import { parsePipelineConfig } from '../../infra/config/load-config';
import { readConsumerConfig } from '../../shared/config/consumer-config';
import { ledgerAndQueue, REQUEST_TIMEOUTS } from '../../shared/consumer/clients';
import type { BuiltRuntime } from '../../shared/consumer/runtime';
import type { Delivery } from '../../shared/ordering/ports';
import { accountHistory } from '../support/histories';
import { startSilentServer } from '../support/silent-server';

/** The shortest function timeout the configuration accepts (found by asking it, so the test follows the rule). */
function shortestFunctionTimeoutMs(): number {
  for (let seconds = 1; seconds <= 900; seconds += 1) {
    try {
      parsePipelineConfig({ destinations: { audit: { timeoutSeconds: seconds } } }, 'test');
      return seconds * 1000;
    } catch {
      // not allowed yet
    }
  }
  throw new Error('no function timeout accepted');
}

describe('every client a consumer builds gives up on a silent service before the function times out', () => {
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  let env: Record<string, string>;
  const runtimes: BuiltRuntime[] = [];
  const shortest = shortestFunctionTimeoutMs();

  beforeAll(async () => {
    silent = await startSilentServer();
    env = {
      AWS_REGION: 'us-east-1',
      ACCOUNTS_TABLE_NAME: 'Accounts',
      LEDGER_TABLE_NAME: 'Ledger',
      DEAD_LETTER_QUEUE_URL: `${silent.endpoint}/000000000000/dlq`,
      AWS_ENDPOINT_URL_DYNAMODB: silent.endpoint,
      AWS_ENDPOINT_URL_SQS: silent.endpoint,
      AWS_ENDPOINT_URL_S3: silent.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: silent.endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AUDIT_BUCKET_NAME: 'audit',
      SEARCH_ENDPOINT: silent.endpoint,
      SEARCH_AUTH: 'none',
      FRAUD_EVENT_BUS_NAME: 'bus',
      // One attempt: the test times a single request, not the adapter's retries.
      DELIVERY_MAX_ATTEMPTS: '1',
    };
  });
  afterAll(async () => {
    for (const runtime of runtimes) runtime.close();
    for (const socket of silent?.sockets ?? []) socket.destroy();
    await new Promise<void>((resolve) => (silent ? silent.server.close(() => resolve()) : resolve()));
  });

  it('keeps the request time-out, plus the retry reserve, under the shortest function timeout', () => {
    expect(REQUEST_TIMEOUTS.requestTimeoutMs + 3_000).toBeLessThan(shortest);
    expect(REQUEST_TIMEOUTS.connectionTimeoutMs).toBeLessThan(REQUEST_TIMEOUTS.requestTimeoutMs);
  });

  it.concurrent.each([
    ['audit', createAuditRuntime],
    ['search', createSearchRuntime],
    ['fraud', createFraudRuntime],
  ] as const)('%s: the destination call fails as a retryable time-out, not at the function timeout', async (_name, create) => {
    const runtime = create(env, {});
    runtimes.push(runtime);
    const [record] = accountHistory('timeout-1', 1);
    const delivery: Delivery = { record: record as Delivery['record'], healed: false, replay: false, epoch: 'live' };
    const started = Date.now();
    // No deadline: only the client's own time-out can end the call.
    const [result] = await runtime.destination.deliver([delivery]);
    const took = Date.now() - started;
    expect(result).toMatchObject({ status: 'failed' });
    expect(result?.status === 'failed' && result.detail).toMatch(/timeout|timed out/i);
    expect(took).toBeGreaterThanOrEqual(REQUEST_TIMEOUTS.requestTimeoutMs - 50);
    expect(took).toBeLessThan(shortest);
  });

  it('the ledger and dead-letter clients use the same time-bound handler', async () => {
    const { clients } = ledgerAndQueue(readConsumerConfig('audit', env));
    try {
      for (const client of clients) {
        // The handler's resolved options; `configProvider` is how NodeHttpHandler keeps them until its first request.
        const handler = client.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> };
        expect(await handler.configProvider).toMatchObject({
          requestTimeout: REQUEST_TIMEOUTS.requestTimeoutMs,
          connectionTimeout: REQUEST_TIMEOUTS.connectionTimeoutMs,
          throwOnRequestTimeout: true,
        });
      }
    } finally {
      for (const client of clients) client.destroy();
    }
  });
});
