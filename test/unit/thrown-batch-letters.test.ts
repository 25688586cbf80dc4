import { describe, expect, it } from 'vitest';
import { localLambdaContext, toLambdaKinesisEvent } from '../../local/lambda-event';
import { RecordingDeadLetterQueue, RecordingDestination } from '../../local/recording-destination';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import { ChangeConsumer } from '../../shared/consumer/change-consumer';
import type { ConsumedBatch } from '../../shared/consumer/consumed-batch';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import { InMemoryLedger } from '../../shared/ledger/in-memory-ledger';
import type { Telemetry } from '../../shared/observability/telemetry';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { DeadLetter, Ledger } from '../../shared/ordering/ports';
import { kdsRecord } from '../support/kds-payload';

/*
 * README, "Guarantees": every record ends delivered, parked, dead-lettered or reported failed, "each of these is
 * counted in a metric"; "Logs and metrics": `DeadLettered` counts letters stored, and every dead letter is logged with
 * its account, version and sequence number. When one account's run throws something unexpected (a bug: the batch is
 * thrown so Lambda bisects it), letters the other accounts' runs already stored in the same invocation are reported
 * with the error (`Telemetry.batchError`): `telemetry.batch` is never called for that invocation, and Lambda's retry
 * finds those records settled in the ledger, so nothing else would count them.
 */

const SHARD = 'shardId-000000000001';
const STREAM_ARN = 'arn:aws:kinesis:us-east-1:123456789012:stream/accounts-changes';

let sequence = 0;
/** Version 1 (the opening) of an account, as Kinesis Data Streams for DynamoDB carries it. */
function opening(accountId: string): KinesisRecordInput {
  sequence += 1;
  return kdsRecord(
    { kind: 'INSERT', newImage: { account_id: accountId, balance: 1_010, currency: 'AUD', status: 'OPEN', version: 1 }, tableName: 'Accounts' },
    { sequenceNumber: `49650000000000000000000000000000000000000000000000${String(sequence).padStart(6, '0')}`, shardId: SHARD, createdAtMicros: 1_795_392_000_001_000 },
  );
}

class CountingTelemetry implements Telemetry {
  readonly batches: ConsumedBatch[] = [];
  readonly lettersOfErrors: DeadLetter[] = [];
  errors = 0;
  invocation(): void {}
  batch(batch: ConsumedBatch): void {
    this.batches.push(batch);
  }
  batchError(_error: unknown, _records: number, _durationMs: number, deadLetters: readonly DeadLetter[] = []): void {
    this.errors += 1;
    this.lettersOfErrors.push(...deadLetters);
  }
  /** What the DeadLettered metric and the "sent to the dead-letter queue" log lines add up to (PowertoolsTelemetry). */
  get deadLetteredCounted(): number {
    return this.batches.reduce((sum, batch) => sum + batch.counts.deadLettered, 0) + this.lettersOfErrors.length;
  }
  get lettersLogged(): number {
    return this.batches.reduce((sum, batch) => sum + batch.deadLetters.length, 0) + this.lettersOfErrors.length;
  }
}

function world(name: string, mode: DeliveryMode) {
  const destination = new RecordingDestination(name, mode);
  const inner = new InMemoryLedger({ destination: name, epoch: 'live' });
  let bugFor: string | undefined = 'BUGGY';
  // The ledger answers normally, except that writing account BUGGY hits a bug (once): an unexpected TypeError.
  const ledger: Ledger = {
    destination: inner.destination,
    epoch: inner.epoch,
    load: (ids) => inner.load(ids),
    parked: (...args) => inner.parked(...args),
    waiting: (after) => inner.waiting(after),
    sweepPosition: () => inner.sweepPosition(),
    saveSweepPosition: (position) => inner.saveSweepPosition(position),
    write: async (write) => {
      if (write.next.accountId === bugFor) {
        bugFor = undefined;
        throw new TypeError("Cannot read properties of undefined (reading 'revision')");
      }
      return inner.write(write);
    },
  };
  const deadLetters = new RecordingDeadLetterQueue();
  const consumer = new ChangeConsumer({ destination, ledger, deadLetters, accountsTable: 'Accounts' });
  const telemetry = new CountingTelemetry();
  const handler = createKinesisHandler(() => ({ consumer, telemetry }));
  const invoke = (records: readonly KinesisRecordInput[]) =>
    handler(toLambdaKinesisEvent(records, { region: 'us-east-1', streamArn: STREAM_ARN }), localLambdaContext(`${name}-consumer`, 30_000));
  return { destination, deadLetters, telemetry, invoke };
}

describe('letters stored by an invocation that then throws', () => {
  it.each([
    ['search', 'latest-state'],
    ['audit', 'every-version'],
    ['fraud', 'in-order'],
  ] as const)('%s (%s): every letter in the queue is counted in DeadLettered and logged, after Lambda retries the batch', async (name, mode) => {
    const w = world(name, mode);
    // REJECTED: a permanent refusal of the document, dead-lettered at once.
    w.destination.intercept = (delivery) =>
      delivery.record.accountId === 'REFUSED' ? { status: 'failed', reason: 'REJECTED', detail: 'mapper_parsing_exception', attempts: 1 } : undefined;
    const batch = [opening('REFUSED'), opening('BUGGY')];

    // First invocation: REFUSED is dead-lettered, BUGGY's commit throws: the invocation fails (Lambda bisects, retries).
    await expect(w.invoke(batch)).rejects.toThrow(TypeError);
    expect(w.telemetry.errors).toBe(1);
    // Lambda's retries, as bisect makes them: each half, then the whole batch again for good measure.
    await w.invoke(batch.slice(0, 1));
    await w.invoke(batch.slice(1));

    const stored = w.deadLetters.letters.filter((letter) => letter.accountId === 'REFUSED');
    expect(stored.length).toBeGreaterThanOrEqual(1);
    // Every letter the queue holds was counted (DeadLettered) and logged with its account and version.
    expect(w.telemetry.deadLetteredCounted, `${stored.length} letter(s) stored, DeadLettered counted ${w.telemetry.deadLetteredCounted}`).toBe(stored.length);
    expect(w.telemetry.lettersLogged).toBe(stored.length);
  });
});
