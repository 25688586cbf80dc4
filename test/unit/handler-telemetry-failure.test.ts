import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { localLambdaContext, toLambdaKinesisEvent } from '../../local/lambda-event';
import { RecordingDeadLetterQueue, RecordingDestination } from '../../local/recording-destination';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import { ChangeConsumer } from '../../shared/consumer/change-consumer';
import type { ConsumedBatch } from '../../shared/consumer/consumed-batch';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import { createSweepHandler } from '../../shared/consumer/sweep-handler';
import { InMemoryLedger } from '../../shared/ledger/in-memory-ledger';
import type { Telemetry } from '../../shared/observability/telemetry';
import type { DeadLetter } from '../../shared/ordering/ports';
import { kdsRecord } from '../support/kds-payload';

/*
 * The handler's answer to Lambda is the batch's, whatever the telemetry does. Before, a logger or metrics flush that
 * threw inside the handler failed the invocation after the batch had been delivered and dead-lettered: Lambda sent
 * the batch again and its letters were stored twice (a bad record quarantined twice); a batchError that threw
 * replaced the batch's own error; an `invocation` that threw stopped every batch of the environment.
 */

const SHARD = 'shardId-000000000001';
let sequence = 0;
function opening(accountId: string): KinesisRecordInput {
  sequence += 1;
  return kdsRecord(
    { kind: 'INSERT', newImage: { account_id: accountId, balance: 1_010, currency: 'AUD', status: 'OPEN', version: 1 }, tableName: 'Accounts' },
    { sequenceNumber: `4965${String(sequence).padStart(20, '0')}`, shardId: SHARD, createdAtMicros: 1_795_392_000_001_000 },
  );
}
function undecodable(): KinesisRecordInput {
  sequence += 1;
  return { data: 'not base64!', sequenceNumber: `4965${String(sequence).padStart(20, '0')}`, shardId: SHARD };
}

class BrokenTelemetry implements Telemetry {
  readonly batches: ConsumedBatch[] = [];
  readonly errors: unknown[] = [];
  readonly lettersOfErrors: DeadLetter[] = [];
  breaks = new Set<'invocation' | 'batch' | 'batchError'>();
  invocation(): void {
    if (this.breaks.has('invocation')) throw new Error('addContext broke');
  }
  batch(batch: ConsumedBatch): void {
    this.batches.push(batch);
    if (this.breaks.has('batch')) throw new RangeError('Invalid metric unit');
  }
  batchError(error: unknown, _records: number, _durationMs: number, letters: readonly DeadLetter[] = []): void {
    this.errors.push(error);
    this.lettersOfErrors.push(...letters);
    if (this.breaks.has('batchError')) throw new Error('flush broke');
  }
}

function world() {
  const destination = new RecordingDestination('audit', 'every-version');
  const ledger = new InMemoryLedger({ destination: 'audit', epoch: 'live' });
  const deadLetters = new RecordingDeadLetterQueue();
  const consumer = new ChangeConsumer({ destination, ledger, deadLetters, accountsTable: 'Accounts' });
  const telemetry = new BrokenTelemetry();
  const handler = createKinesisHandler(() => ({ consumer, telemetry }));
  const sweeper = createSweepHandler(() => ({ consumer, telemetry }));
  const invoke = (records: readonly KinesisRecordInput[]) =>
    handler(toLambdaKinesisEvent(records, { region: 'us-east-1', streamArn: 'arn:aws:kinesis:us-east-1:1:stream/s' }), localLambdaContext('audit-consumer', 30_000));
  return { destination, deadLetters, telemetry, invoke, sweeper };
}

type WriteSpy = MockInstance<(chunk: unknown) => boolean>;
let stderr: WriteSpy;
beforeEach(() => {
  stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true) as unknown as WriteSpy;
});
afterEach(() => {
  vi.restoreAllMocks();
});
const stderrLines = (): Record<string, unknown>[] =>
  stderr.mock.calls
    .flatMap(([chunk]) => String(chunk).split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('a handler whose telemetry throws', () => {
  it('answers the batch when telemetry.batch throws: Lambda does not send it again, so no letter is stored twice', async () => {
    const w = world();
    w.telemetry.breaks.add('batch');
    const bad = undecodable();
    const records = [opening('ACC-1'), bad, opening('ACC-2')];

    const response = await w.invoke(records);

    expect(response).toEqual({ batchItemFailures: [] });
    expect(w.deadLetters.letters.map((letter) => letter.sequenceNumber)).toEqual([bad.sequenceNumber]);
    expect(w.destination.received.map((change) => change.accountId).sort()).toEqual(['ACC-1', 'ACC-2']);
    // Not silent: one ERROR line on stderr names the step, the error, and what the batch came to (the letter too).
    const [line] = stderrLines();
    expect(line).toMatchObject({ level: 'ERROR', destination: 'audit', records: 3, quarantined: 1, failed: 0 });
    expect(line?.message).toMatch(/telemetry step batch failed/);
    expect(line?.error).toBe('RangeError: Invalid metric unit');
    expect(line?.deadLetters).toEqual({ total: 1, named: [{ reason: 'BAD_RECORD', sequenceNumber: bad.sequenceNumber }] });
  });

  it('still reports the records to retry when telemetry.batch throws', async () => {
    const w = world();
    w.telemetry.breaks.add('batch');
    w.deadLetters.refuse = true;
    const bad = undecodable();

    const response = await w.invoke([opening('ACC-1'), bad]);

    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: bad.sequenceNumber }] });
    expect(stderrLines()[0]).toMatchObject({ failed: 1, failures: [{ sequenceNumber: bad.sequenceNumber, shardId: SHARD }] });
  });

  it('processes the batch when telemetry.invocation throws', async () => {
    const w = world();
    w.telemetry.breaks.add('invocation');

    expect(await w.invoke([opening('ACC-1')])).toEqual({ batchItemFailures: [] });
    expect(w.destination.received).toHaveLength(1);
    expect(w.telemetry.batches).toHaveLength(1);
    expect(stderrLines()[0]?.message).toMatch(/telemetry step invocation failed/);
  });

  it("throws the batch's own error when telemetry.batchError throws too, and logs the letters the batch stored", async () => {
    const w = world();
    w.telemetry.breaks.add('batchError');
    const bug = new TypeError("Cannot read properties of undefined (reading 'balance')");
    w.destination.afterDelivery = () => {
      throw bug;
    };
    const bad = undecodable();

    await expect(w.invoke([bad, opening('ACC-1')])).rejects.toBe(bug);

    const [line] = stderrLines();
    expect(line?.message).toMatch(/telemetry step batchError failed/);
    expect(line).toMatchObject({ batchError: `TypeError: ${bug.message}`, records: 2 });
    expect(line?.deadLetters).toMatchObject({ total: 1, named: [{ reason: 'BAD_RECORD', sequenceNumber: bad.sequenceNumber }] });
  });

  it('the sweeper answers its sweep when telemetry.batch throws', async () => {
    const w = world();
    w.telemetry.breaks.add('batch');

    const result = await w.sweeper({}, localLambdaContext('audit-sweeper', 30_000));

    expect(result).toMatchObject({ destination: 'audit', failed: 0 });
    expect(stderrLines()[0]?.message).toMatch(/telemetry step batch failed/);
  });
});
