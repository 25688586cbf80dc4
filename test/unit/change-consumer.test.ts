import { describe, expect, it } from 'vitest';
import { RecordingDeadLetterQueue, RecordingDestination } from '../../local/recording-destination';
import { toLambdaKinesisEvent } from '../../local/lambda-event';
import { waitsForItsLane } from '../../ops/commands/redrive-settle';
import { ChangeConsumer } from '../../shared/consumer/change-consumer';
import { parseOperatorCommand } from '../../shared/consumer/operator-command';
import { LedgerUnavailableError } from '../../shared/ordering/errors';
import { InMemoryLedger } from '../../shared/ledger/in-memory-ledger';
import { ManualClock } from '../support/engine-harness';
import { kdsRecord } from '../support/kds-payload';

const image = (version: number) => ({ account_id: 'ACC-1', balance: 100 + version, currency: 'AUD', status: 'OPEN', version });

describe('ChangeConsumer waiting report', () => {
  it('reports waiting accounts, the oldest wait and those waiting too long, at most once per interval', async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const consumer = new ChangeConsumer({
      destination: new RecordingDestination('fraud', 'in-order'),
      ledger: new InMemoryLedger({ destination: 'fraud', epoch: 'live' }),
      deadLetters: new RecordingDeadLetterQueue(),
      accountsTable: 'Accounts',
      clock: () => clock.now(),
      parkedAgeThresholdMs: 60_000,
      parkedReportEveryMs: 30_000,
    });
    // Version 3 without 1 and 2: it cannot be delivered or healed, so the account waits.
    const v3 = kdsRecord({ kind: 'MODIFY', oldImage: image(2), newImage: image(3), tableName: 'Accounts' }, { sequenceNumber: '1' });

    const first = await consumer.consume([v3]);
    expect(first.dispositions.map((d) => d.disposition)).toEqual(['parked']);
    expect(first.waiting).toEqual({ accounts: 1, oldestAgeSeconds: 0, tooLong: 0 });

    clock.advance(10_000);
    expect((await consumer.consume([])).waiting).toBeUndefined();

    clock.advance(80_000);
    expect((await consumer.consume([])).waiting).toEqual({ accounts: 1, oldestAgeSeconds: 90, tooLong: 1 });
  });
});

describe('ChangeConsumer redrive command', () => {
  const change = (version: number, sequenceNumber: string) =>
    kdsRecord(
      version === 1 ? { kind: 'INSERT', newImage: image(1), tableName: 'Accounts' } : { kind: 'MODIFY', oldImage: image(version - 1), newImage: image(version), tableName: 'Accounts' },
      { sequenceNumber, shardId: 'shardId-000000000001', createdAtMicros: 1_800_000_000_000_000 + version },
    );
  const asCommand = (inputs: ReturnType<typeof change>[]) => ({ command: 'redrive' as const, records: toLambdaKinesisEvent(inputs, { region: 'us-east-1', streamArn: 'arn:aws:kinesis:us-east-1:0:stream/s' }).Records });

  it("is a side path, not a batch of its records' shard: it never delivers at the home lane's side without a claim", async () => {
    const clock = new ManualClock(1_800_000_000_000);
    const destination = new RecordingDestination('fraud', 'in-order');
    const consumer = new ChangeConsumer({ destination, ledger: new InMemoryLedger({ destination: 'fraud', epoch: 'live' }), deadLetters: new RecordingDeadLetterQueue(), accountsTable: 'Accounts', clock: () => clock.now() });
    // Two claimed batches on shard 1 make it the account's home lane.
    await consumer.consume([change(1, '1')]);
    await consumer.consume([change(2, '2')]);
    clock.advance(1_000);

    // The home lane delivered a moment ago and may be delivering again: a redrive of v3 parks it for that lane.
    const { result } = await consumer.command(asCommand([change(3, '3')]));
    expect(destination.received.map(({ version }) => version)).toEqual([1, 2]);
    expect(result.orderedFanout).toMatchObject({ command: 'redrive', batchItemFailures: [], accounts: [{ accountId: 'ACC-1', version: 2, parked: [[3, 3]], state: 'parked-behind-gap' }] });
    expect(waitsForItsLane(result.orderedFanout.accounts[0]!)).toBe(true);

    // The same record in a batch of shard 1 (the mapping's) is delivered at home, and what the redrive parked with it.
    await consumer.consume([change(4, '4')]);
    expect(destination.received.map(({ version }) => version)).toEqual([1, 2, 3, 4]);
  });

  it('reports the records it could not settle as a batch would', async () => {
    const destination = new RecordingDestination('fraud', 'in-order');
    const consumer = new ChangeConsumer({ destination, ledger: new InMemoryLedger({ destination: 'fraud', epoch: 'live', beforeOperation: async () => Promise.reject(new LedgerUnavailableError('down')) }), deadLetters: new RecordingDeadLetterQueue(), accountsTable: 'Accounts' });
    const { result } = await consumer.command(asCommand([change(1, '11')]));
    expect(result.orderedFanout.batchItemFailures).toEqual([{ itemIdentifier: '11' }]);
  });
});

describe('parseOperatorCommand redrive', () => {
  it('takes Kinesis event records and refuses anything else, saying what it needs', () => {
    const records = toLambdaKinesisEvent([kdsRecord({ kind: 'INSERT', newImage: image(1), tableName: 'Accounts' }, { sequenceNumber: '7' })], { region: 'us-east-1', streamArn: 'arn' }).Records;
    expect(parseOperatorCommand({ orderedFanout: { command: 'redrive', records } })).toEqual({ command: 'redrive', records });
    for (const bad of [[], [{ eventID: 'no-shard', kinesis: { data: 'x', sequenceNumber: '1' } }], [{ eventID: 's:1', kinesis: { sequenceNumber: '1' } }], undefined]) {
      expect(() => parseOperatorCommand({ orderedFanout: { command: 'redrive', records: bad } as never })).toThrow(/redrive needs records/);
    }
    expect(() => parseOperatorCommand({ orderedFanout: { command: 'replay' } as never })).toThrow(/expected skip-gap, write-off, resume or redrive/);
  });
});

describe('parseOperatorCommand write-off', () => {
  it('takes an account, ascending apart version ranges and a reason, and refuses anything else, saying what it needs', () => {
    expect(parseOperatorCommand({ orderedFanout: { command: 'write-off', accountId: 'A', versions: [[3, 4], [7, 7]], reason: ' lost ' } })).toEqual({ command: 'write-off', accountId: 'A', versions: [[3, 4], [7, 7]], reason: 'lost' });
    for (const versions of [[], [[4, 3]], [[3, 4], [4, 5]], [[0, 2]], [[1.5, 2]], [3, 4], 'x', Array.from({ length: 201 }, (_, i) => [2 * i + 1, 2 * i + 1])]) {
      expect(() => parseOperatorCommand({ orderedFanout: { command: 'write-off', accountId: 'A', versions, reason: 'r' } as never })).toThrow(/write-off needs versions/);
    }
    expect(() => parseOperatorCommand({ orderedFanout: { command: 'write-off', accountId: 'A', versions: [[1, 1]], reason: ' ' } as never })).toThrow(/write-off needs a reason/);
    expect(() => parseOperatorCommand({ orderedFanout: { command: 'write-off', accountId: '', versions: [[1, 1]], reason: 'r' } as never })).toThrow(/write-off needs an accountId/);
  });
});
