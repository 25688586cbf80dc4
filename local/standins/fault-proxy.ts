import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prng } from '../prng';
import { answerBadGateway, forward } from './forward';

/** An HTTP answer, whole. */
export interface FaultAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The calls a fault may hit, and how the real service answers one it fails. */
export interface CallFault {
  /** Whether this request is one the fault may hit; sees the whole body (the proxy reads it before deciding). */
  matches(headers: IncomingHttpHeaders, body: Buffer): boolean;
  /** A fresh answer each time (a service gives each its own request id). */
  answer(): FaultAnswer;
}

/**
 * A pass-through HTTP proxy in front of an emulator that cannot fail on demand (fauxqs): it answers a seeded fraction
 * of the calls `fault` matches with the service's own error, and forwards everything else unchanged. The client is
 * then the real SDK parsing the real error shape, so what the adapter classifies is what the service would send.
 */
export interface FaultProxy {
  readonly endpoint: string;
  /** Fail this fraction 0..1 of the matching calls from now on, drawn from a PRNG restarted at `seed`; 0 ends it. */
  setFailureRate(rate: number, seed: number): void;
  /** Matching calls answered with the fault so far. */
  readonly failed: number;
  stop(): Promise<void>;
}

export async function startFaultProxy(upstream: string, fault: CallFault): Promise<FaultProxy> {
  const target = new URL(upstream);
  let rate = 0;
  let random = prng(1);
  let failed = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    // Drawn only for matching calls, so other traffic (a dead-letter queue on the same emulator) leaves the sequence alone.
    if (rate > 0 && fault.matches(req.headers, body) && random() < rate) {
      failed += 1;
      const answer = fault.answer();
      res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
      res.end(answer.body);
      return;
    }
    forward(target, req, res, body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => answerBadGateway(res, error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    setFailureRate(next, seed) {
      if (!(next >= 0 && next <= 1)) throw new RangeError(`a failure rate must be within 0..1, got ${next}`);
      rate = next;
      random = prng(seed);
    },
    get failed() {
      return failed;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
