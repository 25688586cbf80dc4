import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Context } from 'aws-lambda';
import { localLambdaContext, toLambdaKinesisEvent } from '../../local/lambda-event';
import { RecordingDeadLetterQueue, RecordingDestination } from '../../local/recording-destination';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import { ChangeConsumer } from '../../shared/consumer/change-consumer';
import type { ConsumedBatch } from '../../shared/consumer/consumed-batch';
import { batchItemFailures, createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import { InMemoryLedger } from '../../shared/ledger/in-memory-ledger';
import type { Telemetry } from '../../shared/observability/telemetry';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { kdsRecord } from '../support/kds-payload';

/*
 * The response Lambda reads (`batchItemFailures`): Lambda retries from the lowest `itemIdentifier`, and treats an empty
 * or null one as a failure of the whole batch (AWS Lambda developer guide, "Configuring partial batch response with
 * Kinesis Data Streams and Lambda", success and failure conditions).
 */

const SHARD = 'shardId-000000000002';
let sequence = 0;
function opening(accountId: string): KinesisRecordInput {
  sequence += 1;
  return kdsRecord(
    { kind: 'INSERT', newImage: { account_id: accountId, balance: 1_010, currency: 'AUD', status: 'OPEN', version: 1 }, tableName: 'Accounts' },
    { sequenceNumber: `4966${String(sequence).padStart(20, '0')}`, shardId: SHARD, createdAtMicros: 1_795_392_000_001_000 },
  );
}

class Recording implements Telemetry {
  readonly batches: ConsumedBatch[] = [];
  invocation(): void {}
  batch(batch: ConsumedBatch): void {
    this.batches.push(batch);
  }
  batchError(): void {}
}

function world(mode: DeliveryMode = 'every-version') {
  const name = mode === 'in-order' ? 'fraud' : mode === 'latest-state' ? 'search' : 'audit';
  const destination = new RecordingDestination(name, mode);
  const deadLetters = new RecordingDeadLetterQueue();
  const consumer = new ChangeConsumer({ destination, ledger: new InMemoryLedger({ destination: name, epoch: 'live' }), deadLetters, accountsTable: 'Accounts' });
  const telemetry = new Recording();
  const handler = createKinesisHandler(() => ({ consumer, telemetry }));
  const event = (records: readonly KinesisRecordInput[]) => toLambdaKinesisEvent(records, { region: 'us-east-1', streamArn: 'arn:aws:kinesis:us-east-1:1:stream/s' });
  return { destination, deadLetters, telemetry, handler, event };
}

let stderr: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe('batchItemFailures', () => {
  const records = [{ sequenceNumber: '100' }, { sequenceNumber: '101' }, { sequenceNumber: '102' }];

  it('names each failed record once', () => {
    const failures = [
      { sequenceNumber: '101', shardId: SHARD, accountId: 'A', version: 2 },
      { sequenceNumber: '101', shardId: SHARD, accountId: 'A', version: 2 },
      { sequenceNumber: '102', shardId: SHARD, accountId: 'B', version: 1 },
    ];
    expect(batchItemFailures(failures, records)).toEqual([{ itemIdentifier: '101' }, { itemIdentifier: '102' }]);
    expect(stderr).not.toHaveBeenCalled();
  });

  it('never sends an empty itemIdentifier: a failure without a record of the batch retries the whole batch, and says so', () => {
    const failures = [
      { sequenceNumber: '', shardId: '', accountId: 'A', version: 3 },
      { sequenceNumber: '102', shardId: SHARD, accountId: 'B', version: 1 },
    ];
    const answer = batchItemFailures(failures, records, 'fraud');
    expect(answer).toEqual([{ itemIdentifier: '102' }, { itemIdentifier: '100' }]);
    expect(answer.every(({ itemIdentifier }) => itemIdentifier !== '')).toBe(true);
    const line = JSON.parse(String(stderr.mock.calls[0]?.[0])) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'ERROR', destination: 'fraud', unplaced: [{ accountId: 'A', version: 3, sequenceNumber: '' }] });
  });

  it('a failure of a record from another batch (not in this one) also retries this batch from its start', () => {
    expect(batchItemFailures([{ sequenceNumber: '7', shardId: SHARD }], records)).toEqual([{ itemIdentifier: '100' }]);
  });
});

describe('the Kinesis handler on a bad day', () => {
  it('answers an event with no records (or no Records at all) with no failures', async () => {
    const w = world();
    const context = localLambdaContext('audit-consumer', 30_000);
    expect(await w.handler(w.event([]), context)).toEqual({ batchItemFailures: [] });
    expect(await w.handler({} as never, context)).toEqual({ batchItemFailures: [] });
    expect(w.telemetry.batches.map((batch) => batch.records)).toEqual([0, 0]);
  });

  it('refuses an event that is neither a Kinesis event nor an operator command with a TypeError that says so', async () => {
    const w = world();
    const context = localLambdaContext('audit-consumer', 30_000);
    await expect(w.handler(null as never, context)).rejects.toThrow(/expected a Kinesis event .* got null/);
    await expect(w.handler({ Records: 'x' } as never, context)).rejects.toThrow(/Records must be a list/);
  });

  it.each(['every-version', 'in-order', 'latest-state'] as const)(
    '%s: with no time left at the start (getRemainingTimeInMillis 0 or below), sends nothing, dead-letters nothing, and hands every record back',
    async (mode) => {
      for (const left of [0, -5, Number.NaN]) {
        const w = world(mode);
        const records = [opening('ACC-1'), opening('ACC-2')];
        const context: Context = { ...localLambdaContext('consumer', 30_000), getRemainingTimeInMillis: () => left };

        const response = await w.handler(w.event(records), context);

        expect(response.batchItemFailures.map(({ itemIdentifier }) => itemIdentifier).sort()).toEqual(records.map((record) => record.sequenceNumber).sort());
        expect(w.destination.received).toEqual([]);
        expect(w.deadLetters.letters).toEqual([]);
      }
    },
  );

  it('refuses to run without a Lambda context instead of running with no deadline', async () => {
    const w = world();
    await expect(w.handler(w.event([opening('ACC-1')]), {} as Context)).rejects.toThrow(/needs the Lambda context/);
    expect(w.destination.received).toEqual([]);
  });
});
