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
    const breakdown = clock.breakdown('fraud', [first, change], [{ accountId: 'a', version: 2, at: created + 600 }]);
    expect(breakdown).toEqual({
      streamRead: 20,
      kinesisPut: 10,
      efoPush: 500,
      batchWait: 5,
      function: 65,
      total: 600,
      withoutEfoPush: 100,
      samples: 1, // version 1 was made in the warm-up
    });
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
      function: 50,
      total: 2160,
      withoutEfoPush: 2060,
      samples: 2,
    });
    expect(clock.breakdown('audit', [opening, ...changes.slice(0, 19)], accepted).slowest).toBeUndefined();
  });
});
