import { randomUUID } from 'node:crypto';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prng } from '../prng';
import { ratedFault, slowFault, type DestinationFaultKinds } from './fault-spec';
import { answerBadGateway, forward } from './forward';
import { checkSlow, hold } from './hold';

/**
 * A seeded fault profile for SendMessageBatch on one queue (other calls, and other queues on the emulator, pass
 * untouched). Per call the PRNG draws only for faults that are on, in this order: slow, throttle, call failure, then
 * per entry; so one profile replays from its seed.
 */
export interface SqsFaults {
  /** Fraction 0..1 of calls held `slowMs` first; a call whose client gives up meanwhile is dropped, never sent. */
  slowRate?: number;
  /** @default 90000 (longer than a claim's default 60 s) */
  slowMs?: number;
  /** Fraction 0..1 of calls answered RequestThrottled (HTTP 400); nothing of them is sent. */
  throttleRate?: number;
  /** Fraction 0..1 of calls answered InternalError (HTTP 500); nothing of them is sent. */
  callFailureRate?: number;
  /** Fraction 0..1 of entries answered as failed `InternalError` (SenderFault false); the call's others are sent. */
  entryFailureRate?: number;
  /** @default 1 */
  seed?: number;
}

/** What the proxy injected since it started (a type, not an interface: `injectedOf` takes it as a record). */
export type SqsFaultStats = {
  readonly failedCalls: number;
  readonly throttledCalls: number;
  readonly failedEntries: number;
  readonly heldCalls: number;
  readonly abandonedCalls: number;
};

/**
 * SQS's faults for `--destination-faults`, for a destination that sends to a queue behind this proxy (ledger-queue):
 * the plug-in kit's, so another SQS destination declares the same.
 */
export const SQS_SEND_FAULTS: DestinationFaultKinds = {
  kinds: {
    throttle: ratedFault('throttleRate', 'SendMessageBatch calls answered RequestThrottled (HTTP 400)'),
    '500': ratedFault('callFailureRate', 'SendMessageBatch calls answered InternalError (HTTP 500)'),
    partial: ratedFault('entryFailureRate', 'SendMessageBatch entries failing InternalError (SenderFault false), the others sent'),
    slow: slowFault('SendMessageBatch calls'),
  },
  all: 'throttle:0.05,500:0.05,partial:0.05,slow:0.01@20000',
};

export interface SqsFaultProxy {
  readonly endpoint: string;
  /** Replaces the profile (`{}` ends every fault) and restarts the PRNG from its seed; the counters go on. */
  setFaults(faults: SqsFaults): void;
  readonly stats: SqsFaultStats;
  stop(): Promise<void>;
}

/**
 * A pass-through HTTP proxy in front of fauxqs (which cannot fail on demand) that fails the SendMessageBatch calls
 * on `queueUrl` as SQS does, in the AWS JSON 1.0 protocol SDK v3 speaks to it. SQS still sends the Query API's error
 * code in `x-amzn-query-error` (the SDK is query-compatible), and the SDK names the error after it: `InternalError`
 * (`$fault: 'server'`), `RequestThrottled`. A partial failure sends the other entries on and adds the failed ones to
 * the emulator's answer, so what reached the queue is exactly what the answer calls successful.
 */
export async function startSqsFaultProxy(upstream: string, queueUrl: string): Promise<SqsFaultProxy> {
  const target = new URL(upstream);
  let faults = profileOf({});
  let random = prng(1);
  const stats = zeroStats();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const call = req.headers['x-amz-target'] === 'AmazonSQS.SendMessageBatch' ? parseCall(body, queueUrl) : undefined;
    if (call === undefined) return forward(target, req, res, body);
    if (faults.slowRate > 0 && random() < faults.slowRate) {
      stats.heldCalls += 1;
      if (!(await hold(res, faults.slowMs))) {
        stats.abandonedCalls += 1;
        return;
      }
    }
    if (faults.throttleRate > 0 && random() < faults.throttleRate) {
      stats.throttledCalls += 1;
      return answerError(res, 400, 'RequestThrottled;Sender', 'com.amazonaws.sqs#RequestThrottled', 'Request is throttled.');
    }
    if (faults.callFailureRate > 0 && random() < faults.callFailureRate) {
      stats.failedCalls += 1;
      return answerError(res, 500, 'InternalError;Receiver', 'com.amazon.coral.service#InternalFailure', 'We encountered an internal error. Please try again.');
    }
    const failing = faults.entryFailureRate > 0 ? call.Entries.filter(() => random() < faults.entryFailureRate) : [];
    if (failing.length === 0) return forward(target, req, res, body);
    stats.failedEntries += failing.length;
    const failed = failing.map(({ Id }) => ({ Id, SenderFault: false, Code: 'InternalError', Message: 'We encountered an internal error. Please try again.' }));
    const rest = call.Entries.filter((entry) => !failing.includes(entry));
    if (rest.length === 0) return answerJson(res, 200, { Successful: [], Failed: failed });
    const answer = await send(target, req, Buffer.from(JSON.stringify({ ...call, Entries: rest })));
    if (answer.status !== 200) return answerJson(res, answer.status, answer.json, answer.headers);
    const { Successful = [], Failed = [] } = answer.json as { Successful?: unknown[]; Failed?: unknown[] };
    answerJson(res, 200, { ...(answer.json as object), Successful, Failed: [...Failed, ...failed] }, answer.headers);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => answerBadGateway(res, error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setFaults(next) {
      faults = profileOf(next);
      random = prng(next.seed ?? 1);
    },
    get stats() {
      return { ...stats };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Call = { QueueUrl: string; Entries: { Id: string }[] } & Record<string, unknown>;

function parseCall(body: Buffer, queueUrl: string): Call | undefined {
  try {
    const call = JSON.parse(body.toString('utf8')) as Partial<Call>;
    return call.QueueUrl === queueUrl && Array.isArray(call.Entries) ? (call as Call) : undefined;
  } catch {
    return undefined;
  }
}

/** `faults` checked, with every rate given (0 for a fault that is off). */
function profileOf(faults: SqsFaults) {
  for (const rate of [faults.throttleRate, faults.callFailureRate, faults.entryFailureRate]) {
    if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw new RangeError(`a fault rate must be within 0..1, got ${rate}`);
  }
  return { throttleRate: faults.throttleRate ?? 0, callFailureRate: faults.callFailureRate ?? 0, entryFailureRate: faults.entryFailureRate ?? 0, ...checkSlow(faults.slowRate, faults.slowMs) };
}

function zeroStats(): { -readonly [K in keyof SqsFaultStats]: number } {
  return { failedCalls: 0, throttledCalls: 0, failedEntries: 0, heldCalls: 0, abandonedCalls: 0 };
}

function answerError(res: ServerResponse, status: number, queryError: string, type: string, message: string): void {
  answerJson(res, status, { __type: type, message }, { 'x-amzn-query-error': queryError });
}

function answerJson(res: ServerResponse, status: number, json: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(json);
  res.writeHead(status, { ...headers, 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID(), 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Sends a rewritten call on to the emulator and reads its whole answer. */
function send(target: URL, req: IncomingMessage, body: Buffer): Promise<{ status: number; json: unknown; headers: Record<string, string> }> {
  const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
      const parts: Buffer[] = [];
      answer.on('data', (part: Buffer) => parts.push(part));
      answer.on('end', () => {
        try {
          const text = Buffer.concat(parts).toString('utf8');
          const kept = answer.headers['x-amzn-query-error'];
          resolve({ status: answer.statusCode ?? 502, json: text === '' ? {} : JSON.parse(text), headers: typeof kept === 'string' ? { 'x-amzn-query-error': kept } : {} });
        } catch (error) {
          reject(error);
        }
      });
      answer.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}
