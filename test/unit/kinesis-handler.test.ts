import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { localLambdaContext, toLambdaKinesisEvent } from '../../local/lambda-event';
import { RecordingDeadLetterQueue, RecordingDestination } from '../../local/recording-destination';
import { encodeKinesisPayload, type KinesisDynamoDBPayload, type KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import { ConfigurationError } from '../../shared/config/env';
import { ChangeConsumer } from '../../shared/consumer/change-consumer';
import type { ConsumedBatch } from '../../shared/consumer/consumed-batch';
import { createKinesisHandler, type ConsumerRuntime } from '../../shared/consumer/kinesis-handler';
import { InMemoryLedger } from '../../shared/ledger/in-memory-ledger';
import type { Telemetry } from '../../shared/observability/telemetry';
import { LedgerUnavailableError } from '../../shared/ordering/errors';

const SHARD = 'shardId-000000000003';
const STREAM_ARN = 'arn:aws:kinesis:ap-southeast-2:123456789012:stream/accounts-changes';

class RecordingTelemetry implements Telemetry {
  readonly invocations: unknown[] = [];
  readonly batches: ConsumedBatch[] = [];
  readonly errors: { error: unknown; records: number }[] = [];
  invocation(context?: unknown): void {
    this.invocations.push(context);
  }
  batch(batch: ConsumedBatch): void {
    this.batches.push(batch);
  }
  batchError(error: unknown, records: number): void {
    this.errors.push({ error, records });
  }
}

/** The JSON Kinesis Data Streams for DynamoDB writes for version `version` of an account (v1 an INSERT). */
function payload(accountId: string, version: number): KinesisDynamoDBPayload {
  const image = (v: number) => marshall({ account_id: accountId, balance: 1_000 + v * 10, currency: 'AUD', status: 'OPEN', version: v });
  return {
    awsRegion: 'ap-southeast-2',
    eventID: `${accountId}-event-${version}`,
    eventName: version === 1 ? 'INSERT' : 'MODIFY',
    userIdentity: null,
    recordFormat: 'application/json',
    tableName: 'Accounts',
    dynamodb: {
      ApproximateCreationDateTime: 1_795_392_000_000_000 + version * 1_000,
      ApproximateCreationDateTimePrecision: 'MICROSECOND',
      Keys: marshall({ account_id: accountId }),
      NewImage: image(version),
      ...(version > 1 ? { OldImage: image(version - 1) } : {}),
      SizeBytes: 120,
    },
    eventSource: 'aws:dynamodb',
  };
}

let sequence = 0;
function nextSequence(): string {
  sequence += 1;
  return `49650000000000000000000000000000000000000000000000${String(sequence).padStart(6, '0')}`;
}

/** Kinesis records of versions 1..n of an account. */
function versions(accountId: string, n: number): KinesisRecordInput[] {
  return Array.from({ length: n }, (_, i) => ({
    data: encodeKinesisPayload(payload(accountId, i + 1)),
    sequenceNumber: nextSequence(),
    shardId: SHARD,
    partitionKey: accountId,
    approximateArrivalTimestamp: 1_795_392_001.5,
  }));
}

function world(options: { beforeOperation?: ConstructorParameters<typeof InMemoryLedger>[0]['beforeOperation'] } = {}) {
  const destination = new RecordingDestination('audit', 'every-version');
  const ledger = new InMemoryLedger({ destination: 'audit', epoch: 'live', ...options });
  const deadLetters = new RecordingDeadLetterQueue();
  const consumer = new ChangeConsumer({ destination, ledger, deadLetters, accountsTable: 'Accounts' });
  const telemetry = new RecordingTelemetry();
  const runtime: ConsumerRuntime = { consumer, telemetry };
  const handler = createKinesisHandler(() => runtime);
  const invoke = (records: readonly KinesisRecordInput[]) =>
    handler(toLambdaKinesisEvent(records, { region: 'ap-southeast-2', streamArn: STREAM_ARN }), localLambdaContext('audit-consumer', 30_000));
  return { destination, ledger, deadLetters, telemetry, invoke };
}

describe('createKinesisHandler', () => {
  it('reports no failures when every record is delivered', async () => {
    const w = world();
    const records = [...versions('ACC-1', 3), ...versions('ACC-2', 2)];

    const response = await w.invoke(records);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(w.destination.versionsOf('ACC-1').sort()).toEqual([1, 2, 3]);
    expect(w.destination.versionsOf('ACC-2').sort()).toEqual([1, 2]);
    expect(w.telemetry.batches).toHaveLength(1);
    expect(w.telemetry.batches[0]).toMatchObject({ destination: 'audit', records: 5, counts: { delivered: 5 }, failures: [] });
    expect(w.telemetry.invocations[0]).toMatchObject({ functionName: 'audit-consumer' });
    expect(w.deadLetters.letters).toEqual([]);
  });

  it('quarantines an undecodable record and delivers the records after it', async () => {
    const w = world();
    const [v1, v2, v3] = versions('ACC-1', 3) as [KinesisRecordInput, KinesisRecordInput, KinesisRecordInput];
    const bad: KinesisRecordInput = { data: 'not base64!', sequenceNumber: nextSequence(), shardId: SHARD };
    const after = versions('ACC-2', 2);

    const response = await w.invoke([v1, bad, v2, v3, ...after]);

    expect(response.batchItemFailures).toEqual([]);
    expect(w.deadLetters.letters).toHaveLength(1);
    const [letter] = w.deadLetters.letters;
    expect(letter).toMatchObject({ reason: 'BAD_RECORD', destination: 'audit', sequenceNumber: bad.sequenceNumber, shardId: SHARD });
    expect(letter?.detail).toMatch(/^NOT_BASE64: /);
    expect(letter?.bad).toMatchObject({ reason: 'NOT_BASE64', data: 'not base64!' });
    expect(w.destination.versionsOf('ACC-1').sort()).toEqual([1, 2, 3]);
    expect(w.destination.versionsOf('ACC-2').sort()).toEqual([1, 2]);
    expect(w.telemetry.batches[0]).toMatchObject({ records: 6, quarantined: 1 });
  });

  it('reports a bad record as failed when the dead-letter queue refuses it', async () => {
    const w = world();
    w.deadLetters.refuse = true;
    const good = versions('ACC-1', 2);
    const bad: KinesisRecordInput = { data: 'not base64!', sequenceNumber: nextSequence(), shardId: SHARD };

    const response = await w.invoke([...good, bad]);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: bad.sequenceNumber }]);
    expect(w.destination.versionsOf('ACC-1').sort()).toEqual([1, 2]);
    expect(w.telemetry.batches[0]).toMatchObject({ quarantined: 0, deadLetters: [] });
  });

  it('reports a failed delivery as failed when the dead-letter queue refuses its letter', async () => {
    const w = world();
    w.deadLetters.refuse = true;
    w.destination.intercept = (delivery) =>
      delivery.record.version === 2 ? { status: 'failed', reason: 'REJECTED', detail: 'mapping conflict', attempts: 1 } : undefined;
    const records = versions('ACC-1', 3);

    const response = await w.invoke(records);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: records[1]?.sequenceNumber }]);
    expect(w.destination.versionsOf('ACC-1').sort()).toEqual([1, 3]);
  });

  it('reports every record as failed, and resolves, when the ledger is unavailable', async () => {
    const w = world({
      beforeOperation: async () => {
        throw new LedgerUnavailableError('ProvisionedThroughputExceededException after the SDK retries');
      },
    });
    const records = [...versions('ACC-1', 2), ...versions('ACC-2', 3)];

    const response = await w.invoke(records);

    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(
      records.map((record) => record.sequenceNumber).sort(),
    );
    expect(w.destination.received).toEqual([]);
    expect(w.telemetry.errors).toEqual([]);
  });

  it('rejects when the destination throws something unexpected, so that Lambda bisects the batch', async () => {
    const w = world();
    const bug = new TypeError("Cannot read properties of undefined (reading 'balance')");
    w.destination.afterDelivery = () => {
      throw bug;
    };
    const records = versions('ACC-1', 2);

    await expect(w.invoke(records)).rejects.toBe(bug);

    expect(w.telemetry.errors).toEqual([{ error: bug, records: 2 }]);
    expect(w.telemetry.batches).toEqual([]);

    // The consumer is not left stuck: Lambda's retry of the same records goes through.
    w.destination.afterDelivery = undefined;
    expect(await w.invoke(records)).toEqual({ batchItemFailures: [] });
    expect(w.telemetry.batches).toHaveLength(1);
  });

  it('fails an invocation whose build throws, and builds again at the next one', async () => {
    const w = world();
    const runtime: ConsumerRuntime = {
      consumer: new ChangeConsumer({
        destination: w.destination,
        ledger: w.ledger,
        deadLetters: w.deadLetters,
        accountsTable: 'Accounts',
      }),
      telemetry: w.telemetry,
    };
    let builds = 0;
    const missing = new ConfigurationError('AUDIT_BUCKET_NAME', 'is required and is not set');
    const handler = createKinesisHandler(() => {
      builds += 1;
      if (builds === 1) throw missing;
      return runtime;
    });
    const event = (records: readonly KinesisRecordInput[]) => toLambdaKinesisEvent(records, { region: 'ap-southeast-2', streamArn: STREAM_ARN });

    await expect(handler(event(versions('ACC-1', 1)), localLambdaContext('audit-consumer', 30_000))).rejects.toBe(missing);
    expect(builds).toBe(1);

    const second = await handler(event(versions('ACC-2', 1)), localLambdaContext('audit-consumer', 30_000));
    expect(second).toEqual({ batchItemFailures: [] });
    expect(builds).toBe(2);
    await handler(event(versions('ACC-3', 1)), localLambdaContext('audit-consumer', 30_000));
    expect(builds).toBe(2);
    expect(w.destination.received.map((change) => change.accountId)).toEqual(['ACC-2', 'ACC-3']);
  });
});
