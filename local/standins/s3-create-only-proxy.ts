import { randomUUID } from 'node:crypto';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prng } from '../prng';

/**
 * A local stand-in for one S3 behaviour `fauxqs` lacks: conditional writes (and, for fault injection, S3's 503s). It forwards every request to the
 * emulator unchanged, except a `PutObject` with `If-None-Match: *` on a key that already exists, which it answers as
 * S3 does: HTTP 412 with an S3 `PreconditionFailed` error document. Writes of one key pass one at a time, so two
 * racing create-only writes cannot both succeed. Path-style requests only (`forcePathStyle: true`).
 */
export interface S3CreateOnlyProxy {
  readonly endpoint: string;
  /** Create-only writes refused with 412. */
  readonly refused: number;
  /** Create-only writes that created their object, in arrival order: path (`/bucket/key`) and when (ms). */
  readonly created: readonly { readonly path: string; readonly at: number }[];
  /**
   * Fault injection: the fraction (0..1) of writes (PUT) answered 503 `SlowDown`, as S3 does under load, before they
   * reach the emulator. Seeded, so a run can be replayed.
   */
  setFaults(faults: { readonly slowDownRate?: number; readonly seed?: number }): void;
  stop(): Promise<void>;
}

export async function startS3CreateOnlyProxy(upstream: string, options: { port?: number } = {}): Promise<S3CreateOnlyProxy> {
  const target = new URL(upstream);
  const locks = new Map<string, Promise<void>>();
  let refused = 0;
  const created: { path: string; at: number }[] = [];
  let slowDownRate = 0;
  let random = prng(1);

  const forward = (req: IncomingMessage, res: ServerResponse, body?: Buffer, onStatus?: (status: number) => void): void => {
    const outgoing = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (answer) => {
        onStatus?.(answer.statusCode ?? 502);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    outgoing.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
    if (body === undefined) req.pipe(outgoing);
    else outgoing.end(body);
  };

  const exists = (path: string): Promise<boolean> =>
    new Promise((resolve, reject) => {
      const head = request({ host: target.hostname, port: target.port, method: 'HEAD', path, headers: { host: target.host } }, (answer) => {
        answer.resume();
        resolve(answer.statusCode === 200);
      });
      head.on('error', reject);
      head.end();
    });

  const createOnly = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = (req.url ?? '/').split('?')[0] as string;
    const previous = locks.get(path) ?? Promise.resolve();
    let release = (): void => undefined;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => mine);
    locks.set(path, chained);
    await previous;
    try {
      if (await exists(path)) {
        refused += 1;
        const requestId = randomUUID();
        res.writeHead(412, { 'content-type': 'application/xml', 'x-amz-request-id': requestId });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>' +
            '<Message>At least one of the pre-conditions you specified did not hold</Message>' +
            `<Condition>If-None-Match</Condition><RequestId>${requestId}</RequestId><HostId>local</HostId></Error>`,
        );
        return;
      }
      await new Promise<void>((resolve) => {
        res.on('finish', resolve);
        res.on('close', resolve);
        forward(req, res, Buffer.concat(chunks), (status) => {
          if (status === 200) created.push({ path, at: Date.now() });
        });
      });
    } finally {
      release();
      if (locks.get(path) === chained) locks.delete(path);
    }
  };

  const server = createServer((req, res) => {
    if (req.method === 'PUT' && slowDownRate > 0 && random() < slowDownRate) {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml', 'x-amz-request-id': randomUUID() });
      res.end('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      return;
    }
    const isCreateOnlyPut = req.method === 'PUT' && req.headers['if-none-match'] === '*' && !(req.url ?? '').includes('uploadId=');
    if (!isCreateOnlyPut) return forward(req, res);
    createOnly(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get refused() {
      return refused;
    },
    created,
    setFaults(faults) {
      slowDownRate = faults.slowDownRate ?? 0;
      random = prng(faults.seed ?? 1);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
