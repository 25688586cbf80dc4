import {
  CreateEventBusCommand,
  DeleteEventBusCommand,
  DescribeEventBusCommand,
  EventBridgeClient,
  InternalException,
  ListEventBusesCommand,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResponse,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-eventbridge';
import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEventBridgeStandIn, type EventBridgeStandIn } from '../../local/standins/eventbridge/server';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

let standIn: EventBridgeStandIn;
let client: EventBridgeClient;

const clientFor = (endpoint: string, extra: { region?: string; maxAttempts?: number } = {}): EventBridgeClient =>
  new EventBridgeClient({ endpoint, region: extra.region ?? 'us-east-1', credentials, maxAttempts: extra.maxAttempts ?? 1 });

beforeAll(async () => {
  standIn = await startEventBridgeStandIn({ buses: ['orders', 'audit'] });
  client = clientFor(standIn.endpoint);
});
afterAll(async () => {
  client?.destroy();
  await standIn?.stop();
});
beforeEach(() => {
  standIn.setFaults({});
  standIn.clear();
});

const entry = (detail: unknown, overrides: Partial<PutEventsRequestEntry> = {}): PutEventsRequestEntry => ({
  Source: 'ordered-fanout.accounts',
  DetailType: 'AccountUpdated',
  Detail: JSON.stringify(detail),
  EventBusName: 'orders',
  ...overrides,
});

const put = (entries: PutEventsRequestEntry[], via = client): Promise<PutEventsResponse> =>
  via.send(new PutEventsCommand({ Entries: entries }));

type SdkError = Error & { $metadata: { httpStatusCode?: number; attempts?: number }; $fault?: string };
async function rejection(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (error) {
    return error as SdkError;
  }
  throw new Error('expected the call to be rejected');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const outcomes = (response: PutEventsResponse): string[] => (response.Entries ?? []).map((e) => e.ErrorCode ?? 'ok');

describe('PutEvents', () => {
  it('accepts several entries to a custom bus and keeps them, parsed, in arrival order', async () => {
    const time = new Date('2030-01-02T03:04:05.678Z');
    const first = await put([
      entry({ account: 'A-1', version: 1 }, { Resources: ['arn:aws:dynamodb:::table/accounts'], Time: time, TraceHeader: 'Root=1-abc' }),
      entry({ account: 'A-1', version: 2 }),
      entry({ account: 'B-7', version: 1 }, { DetailType: 'AccountOpened' }),
    ]);
    const second = await put([entry({ account: 'A-1', version: 3 })]);

    expect(first.FailedEntryCount).toBe(0);
    const ids = [...(first.Entries ?? []), ...(second.Entries ?? [])].map((e) => e.EventId);
    expect(ids).toHaveLength(4);
    for (const id of ids) expect(id).toMatch(UUID);
    expect(new Set(ids).size).toBe(4);

    const events = standIn.events('orders');
    expect(events.map((e) => e.eventId)).toEqual(ids);
    expect(events.map((e) => e.detail)).toEqual([
      { account: 'A-1', version: 1 },
      { account: 'A-1', version: 2 },
      { account: 'B-7', version: 1 },
      { account: 'A-1', version: 3 },
    ]);
    expect(events.map((e) => e.call)).toEqual([1, 1, 1, 2]);
    expect(events[0]).toMatchObject({
      eventBusName: 'orders',
      source: 'ordered-fanout.accounts',
      detailType: 'AccountUpdated',
      resources: ['arn:aws:dynamodb:::table/accounts'],
      time: '2030-01-02T03:04:05.678Z',
      traceHeader: 'Root=1-abc',
    });
    expect(events[1]).not.toHaveProperty('time');
    expect(events[1]?.resources).toEqual([]);
    expect(events[2]?.detailType).toBe('AccountOpened');
    expect(events[3]!.receivedAt).toBeGreaterThanOrEqual(events[0]!.receivedAt);
    expect(standIn.events('default')).toEqual([]);
    expect(standIn.events()).toHaveLength(4);
    expect(standIn.stats).toMatchObject({ calls: 2, entries: 4, accepted: 4, failedEntries: 0, failedCalls: 0 });
  });

  it('resolves a bus ARN to its name, and no EventBusName to default', async () => {
    const response = await put([
      entry({ n: 1 }, { EventBusName: 'arn:aws:events:us-east-1:000000000000:event-bus/audit' }),
      entry({ n: 2 }, { EventBusName: undefined }),
    ]);
    expect(response.FailedEntryCount).toBe(0);
    expect(standIn.events('audit').map((e) => e.detail)).toEqual([{ n: 1 }]);
    expect(standIn.events('arn:aws:events:us-east-1:000000000000:event-bus/audit')).toHaveLength(1);
    expect(standIn.events('default').map((e) => e.detail)).toEqual([{ n: 2 }]);
  });

  it('fails only the malformed or incomplete entries and counts them in FailedEntryCount', async () => {
    const response = await put([
      entry({ n: 1 }),
      { ...entry({}), Detail: '[1, 2]' },
      { ...entry({}), Detail: '{"unterminated": ' },
      entry({ n: 4 }, { DetailType: undefined }),
      entry({ n: 5 }),
    ]);
    expect(response.FailedEntryCount).toBe(3);
    expect(outcomes(response)).toEqual(['ok', 'MalformedDetail', 'MalformedDetail', 'InvalidArgument', 'ok']);
    expect(response.Entries?.[1]?.EventId).toBeUndefined();
    expect(response.Entries?.[3]?.ErrorMessage).toMatch(/DetailType/);
    expect(standIn.events('orders').map((e) => e.detail)).toEqual([{ n: 1 }, { n: 5 }]);
    expect(standIn.events('orders').map((e) => e.eventId)).toEqual([response.Entries?.[0]?.EventId, response.Entries?.[4]?.EventId]);
    expect(standIn.stats).toMatchObject({ entries: 5, accepted: 2, failedEntries: 3 });
  });

  it('rejects a call of 11 entries, or of none, with ValidationException and stores nothing', async () => {
    const eleven = Array.from({ length: 11 }, (_, n) => entry({ n }));
    const tooMany = await rejection(put(eleven));
    expect(tooMany.name).toBe('ValidationException');
    expect(tooMany.$metadata.httpStatusCode).toBe(400);
    expect(tooMany.message).toMatch(/less than or equal to 10/);
    expect((await rejection(put([]))).name).toBe('ValidationException');
    expect(standIn.events()).toEqual([]);
    expect((await put(eleven.slice(0, 10))).FailedEntryCount).toBe(0);
  });

  it('rejects a call whose summed entry size is over 256 KB, counted as AWS documents it', async () => {
    // Source (23) + DetailType (14) + '{"p":"' + '"}' (8) + padding = 262144 bytes exactly.
    const exact = entry({ p: 'x'.repeat(262_144 - 23 - 14 - 8) });
    expect((await put([exact])).FailedEntryCount).toBe(0);
    const over = await rejection(put([entry({ p: 'x'.repeat(262_144 - 23 - 14 - 8 + 1) })]));
    expect(over.name).toBe('ValidationException');
    expect(over.message).toMatch(/Total size of the entries/);
    const split = await rejection(put([entry({ p: 'y'.repeat(140_000) }), entry({ p: 'z'.repeat(140_000) })]));
    expect(split.name).toBe('ValidationException');
    expect(standIn.events()).toHaveLength(1);
  });

  it('fails entries of a source starting with aws. with NotAuthorizedForSourceException', async () => {
    const response = await put([entry({ n: 1 }, { Source: 'aws.ec2' }), entry({ n: 2 })]);
    expect(response.FailedEntryCount).toBe(1);
    expect(outcomes(response)).toEqual(['NotAuthorizedForSourceException', 'ok']);
    expect(standIn.events().map((e) => e.detail)).toEqual([{ n: 2 }]);
  });

  it('accepts and drops entries for a bus that does not exist, as AWS does, or fails them when strict', async () => {
    const lenient = await put([entry({ n: 1 }, { EventBusName: 'no-such-bus' }), entry({ n: 2 })]);
    expect(lenient.FailedEntryCount).toBe(0);
    expect(lenient.Entries?.[0]?.EventId).toMatch(UUID);
    expect(standIn.events().map((e) => e.detail)).toEqual([{ n: 2 }]);
    expect(standIn.stats).toMatchObject({ entries: 2, accepted: 1, droppedEntries: 1 });

    const strict = await startEventBridgeStandIn({ buses: ['orders'], unknownBus: 'fail' });
    const strictClient = clientFor(strict.endpoint);
    try {
      const response = await put([entry({ n: 1 }, { EventBusName: 'no-such-bus' }), entry({ n: 2 })], strictClient);
      expect(response.FailedEntryCount).toBe(1);
      expect(response.Entries?.[0]).toMatchObject({
        ErrorCode: 'ResourceNotFoundException',
        ErrorMessage: 'Event bus no-such-bus does not exist.',
      });
      expect(strict.events().map((e) => e.detail)).toEqual([{ n: 2 }]);
    } finally {
      strictClient.destroy();
      await strict.stop();
    }
  });
});

describe('fault injection', () => {
  const batch = Array.from({ length: 10 }, (_, n) => entry({ n }));

  it('fails a seeded fraction of entries with InternalFailure, stores the rest, and replays with the same seed', async () => {
    standIn.setFaults({ entryFailureRate: 0.5, seed: 42 });
    const first = await put(batch);
    const pattern = outcomes(first);
    expect(first.FailedEntryCount).toBeGreaterThan(0);
    expect(first.FailedEntryCount).toBeLessThan(10);
    expect(new Set(pattern)).toEqual(new Set(['ok', 'InternalFailure']));
    const acceptedNs = pattern.flatMap((outcome, n) => (outcome === 'ok' ? [n] : []));
    expect(standIn.events().map((e) => e.detail)).toEqual(acceptedNs.map((n) => ({ n })));

    standIn.setFaults({ entryFailureRate: 0.5, seed: 42 });
    expect(outcomes(await put(batch))).toEqual(pattern);
    standIn.setFaults({ entryFailureRate: 0.5, seed: 7 });
    expect(outcomes(await put(batch))).not.toEqual(pattern);
  });

  it('uses entryErrorCode for injected entry failures', async () => {
    standIn.setFaults({ entryFailureRate: 1, entryErrorCode: 'ThrottlingException' });
    const response = await put(batch.slice(0, 3));
    expect(outcomes(response)).toEqual(['ThrottlingException', 'ThrottlingException', 'ThrottlingException']);
    expect(standIn.events()).toEqual([]);
  });

  it('rejects entries by detail type with rejectEntry, before the failure rate applies', async () => {
    const seen: unknown[] = [];
    standIn.setFaults({
      rejectEntry: (e) => {
        seen.push(e);
        return e.detailType === 'AccountClosed' ? { errorCode: 'InvalidArgument', errorMessage: 'detail does not match the schema' } : undefined;
      },
    });
    const response = await put([entry({ n: 1 }), entry({ n: 2 }, { DetailType: 'AccountClosed' }), entry({ n: 3 })]);
    expect(outcomes(response)).toEqual(['ok', 'InvalidArgument', 'ok']);
    expect(response.Entries?.[1]?.ErrorMessage).toBe('detail does not match the schema');
    expect(seen[1]).toEqual({ source: 'ordered-fanout.accounts', detailType: 'AccountClosed', detail: { n: 2 }, eventBusName: 'orders' });
    expect(standIn.events().map((e) => e.detail)).toEqual([{ n: 1 }, { n: 3 }]);

    standIn.setFaults({
      entryFailureRate: 1,
      rejectEntry: (e) => (e.detailType === 'AccountClosed' ? { errorCode: 'InvalidArgument', errorMessage: 'no' } : undefined),
    });
    expect(outcomes(await put([entry({ n: 4 }, { DetailType: 'AccountClosed' }), entry({ n: 5 })]))).toEqual(['InvalidArgument', 'InternalFailure']);
  });

  it('fails whole calls with ThrottlingException (HTTP 400) and stores nothing', async () => {
    standIn.setFaults({ callFailureRate: 1 });
    const error = await rejection(put(batch.slice(0, 2)));
    expect(error).toBeInstanceOf(ThrottlingException);
    expect(error.name).toBe('ThrottlingException');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(standIn.events()).toEqual([]);
    expect(standIn.stats).toMatchObject({ calls: 1, failedCalls: 1, entries: 0 });
  });

  it('lets the SDK retry a throttled call when it may', async () => {
    standIn.setFaults({ callFailureRate: 1 });
    const retrying = clientFor(standIn.endpoint, { maxAttempts: 2 });
    try {
      const error = await rejection(put(batch.slice(0, 1), retrying));
      expect(error.name).toBe('ThrottlingException');
      expect(error.$metadata.attempts).toBe(2);
      expect(standIn.stats.calls).toBe(2);
    } finally {
      retrying.destroy();
    }
  });

  it('fails whole calls with InternalException as HTTP 500, or AccessDeniedException as 400', async () => {
    standIn.setFaults({ callFailureRate: 1, callError: 'InternalException' });
    const internal = await rejection(put(batch.slice(0, 1)));
    expect(internal).toBeInstanceOf(InternalException);
    expect(internal.name).toBe('InternalException');
    expect(internal.$metadata.httpStatusCode).toBe(500);

    standIn.setFaults({ callFailureRate: 1, callError: 'AccessDeniedException' });
    const denied = await rejection(put(batch.slice(0, 1)));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.$metadata.httpStatusCode).toBe(400);
    expect(standIn.events()).toEqual([]);
  });

  it('turns every fault off with setFaults({})', async () => {
    standIn.setFaults({ callFailureRate: 1 });
    expect((await rejection(put(batch.slice(0, 1)))).name).toBe('ThrottlingException');
    standIn.setFaults({ entryFailureRate: 1 });
    expect((await put(batch.slice(0, 2))).FailedEntryCount).toBe(2);
    standIn.setFaults({});
    const response = await put(batch.slice(0, 3));
    expect(response.FailedEntryCount).toBe(0);
    expect(standIn.events()).toHaveLength(3);
  });

  it('refuses rates outside 0..1', () => {
    expect(() => standIn.setFaults({ entryFailureRate: 1.5 })).toThrow(RangeError);
    expect(() => standIn.setFaults({ callFailureRate: -0.1 })).toThrow(RangeError);
  });
});

describe('event buses', () => {
  it('creates, describes, lists and deletes buses', async () => {
    const created = await client.send(new CreateEventBusCommand({ Name: 'payments' }));
    expect(created.EventBusArn).toBe('arn:aws:events:us-east-1:000000000000:event-bus/payments');
    const again = await rejection(client.send(new CreateEventBusCommand({ Name: 'payments' })));
    expect(again).toBeInstanceOf(ResourceAlreadyExistsException);
    expect(again.$metadata.httpStatusCode).toBe(400);

    const described = await client.send(new DescribeEventBusCommand({ Name: 'payments' }));
    expect(described).toMatchObject({ Name: 'payments', Arn: created.EventBusArn });
    expect(described.CreationTime).toBeInstanceOf(Date);
    expect((await client.send(new DescribeEventBusCommand({ Name: created.EventBusArn }))).Name).toBe('payments');
    expect((await client.send(new DescribeEventBusCommand({}))).Name).toBe('default');

    const missing = await rejection(client.send(new DescribeEventBusCommand({ Name: 'ghost' })));
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect(missing.message).toBe('Event bus ghost does not exist.');
    expect(missing.$metadata.httpStatusCode).toBe(400);

    expect((await put([entry({ n: 1 }, { EventBusName: 'payments' })])).FailedEntryCount).toBe(0);
    expect(standIn.events('payments')).toHaveLength(1);

    const listed = await client.send(new ListEventBusesCommand({}));
    expect(listed.EventBuses?.map((bus) => bus.Name)).toEqual(['audit', 'default', 'orders', 'payments']);
    const page = await client.send(new ListEventBusesCommand({ Limit: 3 }));
    expect(page.EventBuses).toHaveLength(3);
    const rest = await client.send(new ListEventBusesCommand({ Limit: 3, NextToken: page.NextToken }));
    expect(rest.EventBuses?.map((bus) => bus.Name)).toEqual(['payments']);
    expect(rest.NextToken).toBeUndefined();

    await client.send(new DeleteEventBusCommand({ Name: 'payments' }));
    expect((await rejection(client.send(new DescribeEventBusCommand({ Name: 'payments' })))).name).toBe('ResourceNotFoundException');
    expect((await rejection(client.send(new DeleteEventBusCommand({ Name: 'default' })))).name).toBe('ValidationException');
  });

  it('puts the region the request is signed for into ARNs', async () => {
    const european = clientFor(standIn.endpoint, { region: 'eu-west-1' });
    try {
      const created = await european.send(new CreateEventBusCommand({ Name: 'eu-bus' }));
      expect(created.EventBusArn).toBe('arn:aws:events:eu-west-1:000000000000:event-bus/eu-bus');
    } finally {
      await european.send(new DeleteEventBusCommand({ Name: 'eu-bus' }));
      european.destroy();
    }
  });
});

describe('wire protocol', () => {
  const call = (target: string, body: string): Promise<Response> =>
    fetch(standIn.endpoint, { method: 'POST', headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': target }, body });

  it('answers JSON 1.1 with a request id, takes Time as epoch seconds, and names unknown operations', async () => {
    const ok = await call(
      'AWSEvents.PutEvents',
      JSON.stringify({ Entries: [{ Source: 's', DetailType: 'd', Detail: '{"a":1}', Time: 1_900_000_000.5, EventBusName: 'orders' }] }),
    );
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(ok.headers.get('x-amzn-requestid')).toMatch(UUID);
    expect(await ok.json()).toMatchObject({ FailedEntryCount: 0, Entries: [{ EventId: expect.stringMatching(UUID) }] });
    expect(standIn.events('orders')[0]?.time).toBe('2030-03-17T17:46:40.500Z');

    const unknown = await call('AWSEvents.PutRule', '{}');
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toMatchObject({ __type: 'UnknownOperationException' });
    expect(await (await call('DynamoDB_20120810.ListTables', '{}')).json()).toMatchObject({ __type: 'UnknownOperationException' });

    const garbled = await call('AWSEvents.PutEvents', '{"Entries": [');
    expect(garbled.status).toBe(400);
    expect(await garbled.json()).toMatchObject({ __type: 'SerializationException', message: expect.any(String) });
  });

  it('stops promptly, closing a keep-alive socket and a request still in flight', async () => {
    const other = await startEventBridgeStandIn();
    const otherClient = clientFor(other.endpoint);
    // A request whose body never ends: server.close() alone would wait for it forever.
    const inFlight = request(other.endpoint, { method: 'POST', headers: { 'Content-Length': '1000', 'X-Amz-Target': 'AWSEvents.PutEvents' } });
    const aborted = new Promise<Error>((resolve) => inFlight.once('error', resolve));
    try {
      expect((await put([entry({ n: 1 }, { EventBusName: undefined })], otherClient)).FailedEntryCount).toBe(0);
      inFlight.write('{"Entries": [');
      for (let waited = 0; (other.stats.requests ?? 0) < 2 && waited < 2000; waited += 5) await sleep(5);
      expect(other.stats.requests).toBe(2);

      const stoppedInTime = await Promise.race([other.stop().then(() => true), sleep(1000).then(() => false)]);
      expect(stoppedInTime).toBe(true);
      expect(await aborted).toBeInstanceOf(Error);
      await expect(fetch(other.endpoint, { method: 'POST' })).rejects.toThrow();
    } finally {
      inFlight.destroy();
      otherClient.destroy();
      await other.stop();
    }
  });
});
