/**
 * A STAND-IN for Amazon EventBridge, not an emulator of all of it: EventBridge cannot run on this machine, so this
 * small `node:http` server answers the real `@aws-sdk/client-eventbridge` (pointed at it by `endpoint`) over the real
 * AWS JSON 1.1 protocol. It is faithful in what a producer relies on: PutEvents semantics (at most 10 entries, the
 * documented size limit, results in request order, per-entry failures with the real error codes, EventIds as UUIDs)
 * and, to inject from a seeded profile (`EventBridgeFaults`), per-entry failures, whole-call throttling or failures,
 * and slow answers. It also has CreateEventBus, DescribeEventBus, ListEventBuses and
 * DeleteEventBus; any other operation is answered with UnknownOperationException.
 *
 * Not modelled: rules, targets, archives, endpoints (`EndpointId` is ignored), partner buses, IAM and resource
 * policies, regions (one namespace of buses; ARNs carry the region the request is signed for). SigV4 signatures are
 * not checked. Accepted events are kept in memory, in arrival order, for the test to read with `events()`.
 *
 * Where it decides what AWS would do: see `put-events.ts` and `UnknownBusMode` (events for a bus that does not exist
 * are accepted and dropped, as AWS does).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prng } from '../../prng';
import { checkSlow, DEFAULT_SLOW_MS, hold } from '../hold';
import { BusRegistry, busNameOf } from './buses';
import { AwsError, operationOf, parseInput, readBody, regionOf, sendError, sendJson } from './protocol';
import { DEFAULT_MAX_REQUEST_ENTRY_BYTES, injectedCallFault, putEvents } from './put-events';
import type { EventBridgeFaults, EventBridgeStandIn, EventBridgeStandInOptions, ReceivedEvent } from './types';

export type {
  CallError,
  EntryFault,
  EntryView,
  EventBridgeFaults,
  EventBridgeStandIn,
  EventBridgeStandInOptions,
  ReceivedEvent,
  UnknownBusMode,
} from './types';

const STAT_NAMES = [
  'requests',
  'calls',
  'failedCalls',
  'invalidCalls',
  'entries',
  'accepted',
  'failedEntries',
  'droppedEntries',
  'heldCalls',
  'abandonedCalls',
] as const;
type Stats = Record<(typeof STAT_NAMES)[number], number>;
const zeroStats = (): Stats => Object.fromEntries(STAT_NAMES.map((name) => [name, 0])) as Stats;

export async function startEventBridgeStandIn(options: EventBridgeStandInOptions = {}): Promise<EventBridgeStandIn> {
  const { port = 0, host = '127.0.0.1', buses: initialBuses = [], unknownBus = 'drop', accountId = '000000000000' } = options;
  const maxRequestEntryBytes = options.maxRequestEntryBytes ?? DEFAULT_MAX_REQUEST_ENTRY_BYTES;
  if (unknownBus !== 'drop' && unknownBus !== 'fail') throw new RangeError(`unknownBus must be 'drop' or 'fail'`);

  const buses = new BusRegistry(accountId);
  for (const name of initialBuses) buses.ensure(name);
  let faults: EventBridgeFaults = {};
  let random: () => number = prng(1);
  const setFaults = (next: EventBridgeFaults): void => {
    checkFaults(next);
    faults = { ...next };
    random = prng(next.seed ?? 1);
  };
  setFaults(pickFaults(options));

  let received: ReceivedEvent[] = [];
  let stats = zeroStats();

  const handlePutEvents = async (input: Record<string, unknown>, response: ServerResponse): Promise<void> => {
    const slowRate = faults.slowRate ?? 0;
    if (slowRate > 0 && random() < slowRate) {
      stats.heldCalls += 1;
      if (!(await hold(response, faults.slowMs ?? DEFAULT_SLOW_MS))) {
        stats.abandonedCalls += 1;
        return;
      }
    }
    stats.calls += 1;
    const call = stats.calls;
    const callFault = injectedCallFault(faults, random);
    if (callFault !== undefined) {
      stats.failedCalls += 1;
      sendError(response, callFault);
      return;
    }
    let outcome: ReturnType<typeof putEvents>;
    try {
      outcome = putEvents(input, { buses, faults, random, unknownBus, maxRequestEntryBytes });
    } catch (error) {
      if (error instanceof AwsError && error.status < 500) stats.invalidCalls += 1;
      throw error;
    }
    const receivedAt = Date.now();
    for (const event of outcome.accepted) received.push({ ...event, receivedAt, call });
    stats.entries += outcome.response.Entries.length;
    stats.accepted += outcome.accepted.length;
    stats.failedEntries += outcome.failed;
    stats.droppedEntries += outcome.dropped;
    sendJson(response, 200, outcome.response);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    stats.requests += 1;
    const body = await readBody(request);
    if (request.method !== 'POST' || (request.url ?? '/').split('?')[0] !== '/') {
      throw new AwsError('UnknownOperationException', `No operation at ${request.method ?? '?'} ${request.url ?? ''}.`, 404);
    }
    const operation = operationOf(request);
    if (operation === undefined) throw new AwsError('UnknownOperationException', 'Missing or unknown X-Amz-Target.');
    const input = parseInput(body);
    if (operation === 'PutEvents') {
      await handlePutEvents(input, response);
      return;
    }
    const output = buses.handle(operation, input, regionOf(request));
    if (output === undefined) {
      throw new AwsError('UnknownOperationException', `The stand-in does not implement AWSEvents.${operation}.`);
    }
    sendJson(response, 200, output);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const aws =
        error instanceof AwsError
          ? error
          : new AwsError('InternalException', `EventBridge stand-in failure: ${(error as Error)?.message ?? String(error)}`, 500);
      if (!response.headersSent) sendError(response, aws);
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const endpointHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://${endpointHost}:${address.port}`,
    setFaults,
    events: (eventBusName) => {
      if (eventBusName === undefined) return [...received];
      const name = busNameOf(eventBusName);
      return received.filter((event) => event.eventBusName === name);
    },
    clear: () => {
      received = [];
      stats = zeroStats();
    },
    get stats() {
      return { ...stats };
    },
    stop: () => {
      stopped ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

function pickFaults(options: EventBridgeStandInOptions): EventBridgeFaults {
  const { entryFailureRate, entryErrorCode, throttleRate, callFailureRate, callError, slowRate, slowMs, rejectEntry, seed } = options;
  const picked: EventBridgeFaults = {
    entryFailureRate, entryErrorCode, throttleRate, callFailureRate, callError, slowRate, slowMs, rejectEntry, seed,
  };
  return Object.fromEntries(Object.entries(picked).filter(([, value]) => value !== undefined)) as EventBridgeFaults;
}

function checkFaults(faults: EventBridgeFaults): void {
  checkSlow(faults.slowRate, faults.slowMs);
  if (Array.isArray(faults.entryErrorCode) && faults.entryErrorCode.length === 0) throw new RangeError('entryErrorCode must not be empty');
  for (const name of ['entryFailureRate', 'throttleRate', 'callFailureRate'] as const) {
    const rate = faults[name];
    if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw new RangeError(`${name} must be within 0..1, got ${rate}`);
  }
  if (faults.callError !== undefined && !['ThrottlingException', 'InternalException', 'AccessDeniedException'].includes(faults.callError)) {
    throw new RangeError(`unknown callError ${String(faults.callError)}`);
  }
  if (faults.seed !== undefined && !Number.isFinite(faults.seed)) throw new RangeError('seed must be a finite number');
}
