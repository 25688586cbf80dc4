import { describe, expect, it } from 'vitest';
import { StageClock } from '../../local/pipeline/stage-clock';
import { WARM_UP_MS } from '../../local/pipeline/delivery-latency';

const TABLE = 'Accounts';
const T0 = 1_800_000_000_000;

/** A Kinesis-for-DynamoDB record of account `a`, version `v`, as the mapping hands it over. */
function record(version: number) {
  const payload = {
    awsRegion: 'eu-west-1',
    eventID: `e${version}`,
    eventName: version === 1 ? 'INSERT' : 'MODIFY',
    recordFormat: 'application/json',
    tableName: TABLE,
    eventSource: 'aws:dynamodb',
    dynamodb: {
      ApproximateCreationDateTime: (T0 + WARM_UP_MS) * 1000,
      Keys: { account_id: { S: 'a' } },
      NewImage: { account_id: { S: 'a' }, version: { N: String(version) }, balance: { N: '0' } },
      ...(version > 1 ? { OldImage: { account_id: { S: 'a' }, version: { N: String(version - 1) }, balance: { N: '0' } } } : {}),
      SizeBytes: 10,
    },
  };
  return { data: Buffer.from(JSON.stringify(payload)).toString('base64'), sequenceNumber: String(version), shardId: 's' };
}

describe('StageClock', () => {
  it('splits commit → delivery into the stages, timed where each happened, first copy only', () => {
    const clock = new StageClock(TABLE);
    const created = T0 + WARM_UP_MS;
    const change = { accountId: 'a', version: 2, createdAtMicros: created * 1000, readAtMs: created + 20, putAtMs: created + 30 };
    const first = { accountId: 'a', version: 1, createdAtMicros: T0 * 1000, readAtMs: T0 + 1, putAtMs: T0 + 2 };
    clock.received('fraud', [record(2)], created + 530);
    clock.received('fraud', [record(2)], created + 900); // a duplicate later: not the first arrival
    clock.invoked('fraud', [record(2)], created + 535);
    clock.ledgerRead('fraud', [record(2)], created + 547);
    clock.ledgerRead('fraud', [record(2)], created + 590); // a retry's read: the first invocation's read stands
    const breakdown = clock.breakdown('fraud', [first, change], [{ accountId: 'a', version: 2, at: created + 600 }]);
    expect(breakdown).toEqual({
      streamRead: 20,
      kinesisPut: 10,
      efoPush: 500,
      batchWait: 5,
      ledgerRead: 12,
      destinationWrite: 53,
      total: 600,
      withoutEfoPush: 100,
      samples: 1, // version 1 was made in the warm-up
    });
  });

  it('times a latest-state destination by freshness: a version skipped as stale counts once a newer one is held', () => {
    const clock = new StageClock(TABLE);
    const created = T0 + WARM_UP_MS;
    const opening = { accountId: 'a', version: 1, createdAtMicros: T0 * 1000, readAtMs: T0 + 1, putAtMs: T0 + 2 };
    const warm = [2, 3].map((version) => ({ accountId: 'a', version, createdAtMicros: created * 1000, readAtMs: created + 10, putAtMs: created + 20 }));
    clock.received('search', [record(2), record(3)], created + 500);
    clock.invoked('search', [record(2), record(3)], created + 510);
    clock.ledgerRead('search', [record(2), record(3)], created + 520);
    // Only version 3 was written: 2 was stale within the batch.
    const accepted = [{ accountId: 'a', version: 3, at: created + 560 }];
    expect(clock.breakdown('search', [opening, ...warm], accepted).samples).toBe(1);
    const fresh = clock.breakdown('search', [opening, ...warm], accepted, true);
    expect(fresh).toMatchObject({ samples: 2, total: 560, ledgerRead: 10, destinationWrite: 40 });
  });

  it('splits the function into the ledger read and the destination write, per destination', () => {
    const clock = new StageClock(TABLE);
    const created = T0 + WARM_UP_MS;
    const opening = { accountId: 'a', version: 1, createdAtMicros: T0 * 1000, readAtMs: T0 + 1, putAtMs: T0 + 2 };
    const warm = [2, 3].map((version) => ({ accountId: 'a', version, createdAtMicros: created * 1000, readAtMs: created + 10, putAtMs: created + 20 }));
    const changes = [opening, ...warm];
    const accepted = warm.map(({ accountId, version }) => ({ accountId, version, at: created + 200 }));
    for (const destination of ['audit', 'search']) {
      clock.received(destination, [record(2), record(3)], created + 100);
      clock.invoked(destination, [record(2), record(3)], created + 110);
    }
    // One read per invocation: every record of the batch had its watermarks at the same time.
    clock.ledgerRead('audit', [record(2), record(3)], created + 140);
    const audit = clock.breakdown('audit', changes, accepted);
    expect([audit.batchWait, audit.ledgerRead, audit.destinationWrite, audit.total]).toEqual([10, 30, 60, 200]);
    expect(audit.streamRead + audit.kinesisPut + audit.efoPush + audit.batchWait + audit.ledgerRead + audit.destinationWrite).toBe(audit.total);
    // A function that reads no ledger (destination-enforced) marks none: all of its time is the destination write.
    const search = clock.breakdown('search', changes, accepted);
    expect([search.ledgerRead, search.destinationWrite]).toEqual([0, 90]);
    // A read timed after the delivery (it cannot be the read that delivered) is held within invocation..done.
    clock.ledgerRead('search', [record(2), record(3)], created + 500);
    expect(clock.breakdown('search', changes, accepted)).toMatchObject({ ledgerRead: 90, destinationWrite: 0 });
  });

  it('adds the stages of the slowest 5% of the changes, where the tail spends its time', () => {
    const clock = new StageClock(TABLE);
    const created = T0 + WARM_UP_MS;
    const changes = Array.from({ length: 40 }, (_, index) => ({
      accountId: 'a',
      version: index + 1,
      createdAtMicros: created * 1000,
      readAtMs: created + (index >= 38 ? 2000 : 20), // the two slowest waited on the stream read
      putAtMs: created + (index >= 38 ? 2010 : 30),
    }));
    for (const change of changes) {
      clock.received('audit', [record(change.version)], change.putAtMs + 100);
      clock.invoked('audit', [record(change.version)], change.putAtMs + 100);
    }
    const accepted = changes.map((change) => ({ accountId: 'a', version: change.version, at: change.putAtMs + 150 }));
    const opening = { accountId: 'b', version: 1, createdAtMicros: T0 * 1000, readAtMs: T0 + 1, putAtMs: T0 + 2 };
    const breakdown = clock.breakdown('audit', [opening, ...changes], accepted);
    expect(breakdown.streamRead).toBe(20);
    expect(breakdown.slowest).toEqual({
      streamRead: 2000,
      kinesisPut: 10,
      efoPush: 100,
      batchWait: 0,
      ledgerRead: 0,
      destinationWrite: 50,
      total: 2160,
      withoutEfoPush: 2060,
      samples: 2,
    });
    expect(clock.breakdown('audit', [opening, ...changes.slice(0, 19)], accepted).slowest).toBeUndefined();
  });
});
