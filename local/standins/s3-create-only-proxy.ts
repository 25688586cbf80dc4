import { randomUUID } from 'node:crypto';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prng } from '../prng';
import { checkSlow, hold } from './hold';
import { answerBadGateway, forward as forwardTo } from './forward';

/**
 * A local stand-in for one S3 behaviour `fauxqs` lacks: conditional writes (and, for fault injection, S3's 503s and
 * slow answers). It forwards every request to the emulator unchanged, except a `PutObject` with `If-None-Match: *`,
 * which it answers as S3 does: HTTP 412 `PreconditionFailed` when the key already exists, and HTTP 409
 * `ConditionalRequestConflict` when another conditional write of the same key is still in progress (S3 does not queue
 * them: the later one fails and must be retried, and finds the object then). So two racing create-only writes can
 * never both succeed, and the loser sees what it would see on S3. Path-style requests only (`forcePathStyle: true`).
 */
export interface S3CreateOnlyProxy {
  readonly endpoint: string;
  /** Create-only writes refused with 412. */
  readonly refused: number;
  /** Create-only writes refused with 409 because another one of the same key was in progress. */
  readonly conflicts: number;
  /** Create-only writes that created their object, in arrival order: path (`/bucket/key`) and when (ms). */
  readonly created: readonly { readonly path: string; readonly at: number }[];
  /** Replaces the fault profile and restarts the fault PRNG from its seed; `{}` turns faults off. */
  setFaults(faults: S3ProxyFaults): void;
  /** Writes answered 503 SlowDown, writes held (`slowRate`), and held writes whose client gave up before the answer. */
  readonly faultStats: { readonly slowDowns: number; readonly held: number; readonly abandoned: number };
  stop(): Promise<void>;
}

/**
 * A seeded fault profile for writes (PUT). The PRNG draws only for faults that are on, in the order SlowDown, slow,
 * so one profile replays the same way from its seed.
 */
export interface S3ProxyFaults {
  /** Fraction 0..1 of writes answered 503 `SlowDown` (S3's XML error), as S3 does under load, before the emulator. */
  readonly slowDownRate?: number;
  /**
   * Fraction 0..1 of writes held `slowMs` before they are forwarded. A write whose client disconnects while held (an
   * SDK abort at a deadline) is dropped, never forwarded.
   */
  readonly slowRate?: number;
  /** @default 90000 (longer than a claim's default 60 s) */
  readonly slowMs?: number;
  /** @default 1 */
  readonly seed?: number;
}

export async function startS3CreateOnlyProxy(upstream: string, options: { port?: number } = {}): Promise<S3CreateOnlyProxy> {
  const target = new URL(upstream);
  /** Keys with a create-only write in progress (from its arrival to its answer). */
  const inProgress = new Set<string>();
  let refused = 0;
  let conflicts = 0;
  const created: { path: string; at: number }[] = [];
  let slowDownRate = 0;
  let slow = checkSlow(0, undefined);
  let random = prng(1);
  const faultStats = { slowDowns: 0, held: 0, abandoned: 0 };

  const forward = (req: IncomingMessage, res: ServerResponse, body?: Buffer, onStatus?: (status: number) => void, onDone?: () => void): void =>
    forwardTo(target, req, res, body, onStatus, onDone);

  const exists = (path: string): Promise<boolean> =>
    new Promise((resolve, reject) => {
      const head = request({ host: target.hostname, port: target.port, method: 'HEAD', path, headers: { host: target.host } }, (answer) => {
        answer.resume();
        resolve(answer.statusCode === 200);
      });
      head.on('error', reject);
      head.end();
    });

  const answerError = (res: ServerResponse, status: number, code: string, message: string, extra = ''): void => {
    const requestId = randomUUID();
    res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}` +
        `<RequestId>${requestId}</RequestId><HostId>local</HostId></Error>`,
    );
  };

  const createOnly = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] as string;
    // Checked and claimed before any await: of two writes that overlap in time, exactly one goes on.
    if (inProgress.has(path)) {
      conflicts += 1;
      req.resume();
      answerError(res, 409, 'ConditionalRequestConflict', 'A conflicting conditional operation is currently in progress against this resource. Please try again.');
      return;
    }
    inProgress.add(path);
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      if (await exists(path)) {
        refused += 1;
        answerError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', '<Condition>If-None-Match</Condition>');
        return;
      }
      // Until the emulator has answered: a client that left meanwhile (an SDK abort at its deadline, whose response
      // closed before this listened) must not hold the key as "in progress" for good.
      await new Promise<void>((resolve) => {
        res.on('finish', resolve);
        forward(
          req,
          res,
          Buffer.concat(chunks),
          (status) => {
            // Only what the emulator stored: `created` is the log of objects that exist because of this proxy.
            if (status === 200) created.push({ path, at: Date.now() });
          },
          resolve,
        );
      });
    } finally {
      inProgress.delete(path);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method === 'PUT' && slowDownRate > 0 && random() < slowDownRate) {
      faultStats.slowDowns += 1;
      req.resume();
      answerError(res, 503, 'SlowDown', 'Please reduce your request rate.');
      return;
    }
    if (req.method === 'PUT' && slow.slowRate > 0 && random() < slow.slowRate) {
      faultStats.held += 1;
      if (!(await hold(res, slow.slowMs))) {
        faultStats.abandoned += 1;
        req.resume();
        return;
      }
    }
    const isCreateOnlyPut = req.method === 'PUT' && req.headers['if-none-match'] === '*' && !(req.url ?? '').includes('uploadId=');
    if (!isCreateOnlyPut) return forward(req, res);
    await createOnly(req, res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => answerBadGateway(res, error));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get refused() {
      return refused;
    },
    get conflicts() {
      return conflicts;
    },
    created,
    setFaults(faults) {
      const rate = faults.slowDownRate ?? 0;
      if (!(rate >= 0 && rate <= 1)) throw new RangeError(`slowDownRate must be within 0..1, got ${rate}`);
      slow = checkSlow(faults.slowRate, faults.slowMs);
      slowDownRate = rate;
      random = prng(faults.seed ?? 1);
    },
    get faultStats() {
      return { ...faultStats };
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
