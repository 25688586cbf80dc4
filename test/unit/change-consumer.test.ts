import { describe, expect, it } from 'vitest';
import { RecordingDeadLetterQueue, RecordingDestination } from '../../local/recording-destination';
import { ChangeConsumer } from '../../shared/consumer/change-consumer';
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
