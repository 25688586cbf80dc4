import { describe, expect, it } from 'vitest';
import { localLambdaContext, toLambdaKinesisEvent } from '../../local/lambda-event';
import { RecordingDeadLetterQueue, RecordingDestination } from '../../local/recording-destination';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import { ChangeConsumer } from '../../shared/consumer/change-consumer';
import type { ConsumedBatch } from '../../shared/consumer/consumed-batch';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import { InMemoryLedger } from '../../shared/ledger/in-memory-ledger';
import type { Telemetry } from '../../shared/observability/telemetry';
import type { DeadLetter } from '../../shared/ordering/ports';
import { kdsRecord } from '../support/kds-payload';

/*
 * Two invocations of one handler at once (Lambda never does this; the tests and the local pipeline may): the
 * consumer runs them one after the other. The letters a thrown batch stored must reach its `batchError` (logged,
 * counted in DeadLettered). Before, the batch waiting its turn started (and watched the queue afresh) before the
 * thrown batch's handler asked for them: the letter was in the queue, logged and counted nowhere.
 */

let sequence = 0;
function opening(accountId: string): KinesisRecordInput {
  sequence += 1;
  return kdsRecord(
    { kind: 'INSERT', newImage: { account_id: accountId, balance: 1_010, currency: 'AUD', status: 'OPEN', version: 1 }, tableName: 'Accounts' },
    { sequenceNumber: `4968${String(sequence).padStart(20, '0')}`, shardId: 'shardId-000000000001', createdAtMicros: 1_795_392_000_001_000 },
  );
}

class Counting implements Telemetry {
  readonly batches: ConsumedBatch[] = [];
  readonly lettersOfErrors: DeadLetter[] = [];
  invocation(): void {}
  batch(batch: ConsumedBatch): void {
    this.batches.push(batch);
  }
  batchError(_error: unknown, _records: number, _durationMs: number, letters: readonly DeadLetter[] = []): void {
    this.lettersOfErrors.push(...letters);
  }
}

describe('concurrent invocations of one handler', () => {
  it('report the letters of the one that threw, once, while the other runs', async () => {
    const destination = new RecordingDestination('audit', 'every-version');
    destination.intercept = (delivery) =>
      delivery.record.accountId === 'REFUSED' ? { status: 'failed', reason: 'REJECTED', detail: 'schema', attempts: 1 } : undefined;
    let bug = true;
    destination.afterDelivery = (deliveries) => {
      if (bug && deliveries.some((delivery) => delivery.record.accountId === 'BUGGY')) {
        bug = false;
        throw new TypeError('a bug');
      }
    };
    const deadLetters = new RecordingDeadLetterQueue();
    const consumer = new ChangeConsumer({
      destination,
      ledger: new InMemoryLedger({ destination: 'audit', epoch: 'live' }),
      deadLetters,
      accountsTable: 'Accounts',
      engine: { accountConcurrency: 1 },
    });
    const telemetry = new Counting();
    const handler = createKinesisHandler(() => ({ consumer, telemetry }));
    const event = (records: KinesisRecordInput[]) => toLambdaKinesisEvent(records, { region: 'us-east-1', streamArn: 'arn:aws:kinesis:us-east-1:1:stream/s' });

    const [first, second] = await Promise.allSettled([
      handler(event([opening('REFUSED'), opening('BUGGY')]), localLambdaContext('audit-consumer', 30_000)),
      handler(event([opening('OTHER')]), localLambdaContext('audit-consumer', 30_000)),
    ]);

    expect(first.status).toBe('rejected');
    expect(second).toEqual({ status: 'fulfilled', value: { batchItemFailures: [] } });
    expect(deadLetters.letters.map((letter) => letter.accountId)).toEqual(['REFUSED']);
    const logged = [...telemetry.lettersOfErrors, ...telemetry.batches.flatMap((batch) => batch.deadLetters)];
    expect(logged.map((letter) => letter.accountId)).toEqual(['REFUSED']);
    expect(telemetry.lettersOfErrors.map((letter) => letter.accountId)).toEqual(['REFUSED']);
  });
});
