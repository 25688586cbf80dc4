import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditRuntime } from '../../consumers/audit/handler';
import { localLambdaContext, toLambdaKinesisEvent } from '../../local/lambda-event';
import { encodeKinesisPayload } from '../../shared/change-record/kinesis-input';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import type { BuiltRuntime } from '../../shared/consumer/runtime';
import type { Telemetry } from '../../shared/observability/telemetry';
import { closedPortEndpoint, startSilentServer } from '../support/silent-server';

/*
 * README, "Retries and dead letters": every client a consumer builds gives up on a request after 6 s, "well inside the
 * shortest function timeout the configuration allows ... a hung connection never outlives the invocation", and the
 * handler contract: a record the ledger or the dead-letter queue could not take is *reported* failed
 * (`batchItemFailures`), so Lambda retries from it. The shortest timeout the configuration accepts is 10 s.
 *
 * The ledger's DynamoDB client keeps the SDK's standard retries (3 attempts, each up to 6 s) and the dead-letter queue
 * has its own rounds after those: alone they outlast the invocation. Both stop at the batch's request deadline
 * (`RequestDeadline`), so with a silent dependency the record is reported failed before Lambda would kill the
 * invocation (which would leave no batchItemFailures and no metrics).
 */

const FUNCTION_TIMEOUT_MS = 10_000;

const quietTelemetry: Telemetry = { invocation: () => undefined, batch: () => undefined, batchError: () => undefined };

/** Resolves with how long `work` took, or with `undefined` if it had not answered after `limitMs`. */
async function answeredWithin<T>(work: Promise<T>, limitMs: number): Promise<{ ms: number; value: T } | undefined> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), limitMs)));
  const done = work.then((value) => ({ ms: Date.now() - started, value }));
  done.catch(() => undefined);
  try {
    return await Promise.race([done, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the handler answers before the function timeout when the ledger or the dead-letter queue hangs', () => {
  let silent: Awaited<ReturnType<typeof startSilentServer>>;
  let refused: string;
  const runtimes: BuiltRuntime[] = [];

  beforeAll(async () => {
    silent = await startSilentServer();
    refused = await closedPortEndpoint();
  });
  afterAll(async () => {
    for (const runtime of runtimes) runtime.close();
    for (const socket of silent?.sockets ?? []) socket.destroy();
    await new Promise<void>((resolve) => (silent ? silent.server.close(() => resolve()) : resolve()));
  });

  function env(dynamodb: string, sqs: string): Record<string, string> {
    return {
      AWS_REGION: 'us-east-1',
      ACCOUNTS_TABLE_NAME: 'Accounts',
      LEDGER_TABLE_NAME: 'Ledger',
      DEAD_LETTER_QUEUE_URL: `${sqs}/000000000000/dlq`,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb,
      AWS_ENDPOINT_URL_SQS: sqs,
      AWS_ENDPOINT_URL_S3: refused,
      S3_FORCE_PATH_STYLE: 'true',
      AUDIT_BUCKET_NAME: 'audit',
    };
  }

  it('a hung dead-letter queue: the undecodable record is reported failed before the 10 s timeout', async () => {
    const runtime = createAuditRuntime(env(refused, silent.endpoint), { telemetry: quietTelemetry });
    runtimes.push(runtime);
    const handler = createKinesisHandler(() => runtime);
    const bad = { data: encodeKinesisPayload({ not: 'a dynamodb event' }), sequenceNumber: '49650000000000000000000000000000000000000000000000000001', shardId: 'shardId-000000000000' };
    const event = toLambdaKinesisEvent([bad], { region: 'us-east-1', streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s' });
    const answer = await answeredWithin(handler(event, localLambdaContext('audit', FUNCTION_TIMEOUT_MS)), FUNCTION_TIMEOUT_MS + 2_000);
    // Lambda would have ended the invocation at 10 s: the answer must come before that.
    expect(answer, 'the handler was still waiting on the dead-letter queue 12 s after a 10 s invocation began').toBeDefined();
    expect(answer?.ms).toBeLessThan(FUNCTION_TIMEOUT_MS);
    expect(answer?.value).toEqual({ batchItemFailures: [{ itemIdentifier: bad.sequenceNumber }] });
  }, 30_000);

  it('a hung ledger: the record is reported failed before the 10 s timeout', async () => {
    const runtime = createAuditRuntime(env(silent.endpoint, refused), { telemetry: quietTelemetry });
    runtimes.push(runtime);
    const handler = createKinesisHandler(() => runtime);
    const now = Date.now();
    const image = { account_id: 'acct-1', balance: 100, currency: 'AUD', status: 'OPEN', version: 1, opened_at: new Date(now).toISOString(), updated_at: new Date(now).toISOString() };
    const { kdsRecord } = await import('../support/kds-payload');
    const good = kdsRecord({ kind: 'INSERT', newImage: image as never, tableName: 'Accounts' }, { sequenceNumber: '49650000000000000000000000000000000000000000000000000002', shardId: 'shardId-000000000000', createdAtMicros: now * 1000 });
    const event = toLambdaKinesisEvent([good], { region: 'us-east-1', streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s' });
    const answer = await answeredWithin(handler(event, localLambdaContext('audit', FUNCTION_TIMEOUT_MS)), FUNCTION_TIMEOUT_MS + 2_000);
    expect(answer, 'the handler was still waiting on the ledger 12 s after a 10 s invocation began').toBeDefined();
    expect(answer?.ms).toBeLessThan(FUNCTION_TIMEOUT_MS);
    expect(answer?.value).toEqual({ batchItemFailures: [{ itemIdentifier: '49650000000000000000000000000000000000000000000000000002' }] });
  }, 30_000);
});
