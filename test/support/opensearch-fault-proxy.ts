import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { holdInReverse, isRefused, type ClientFaultState } from './faulty-client';

/**
 * An HTTP proxy in front of the OpenSearch stand-in that applies the destination contract's faults on the wire, so the
 * real OpenSearch client sees real answers: a 503 with OpenSearch's error body for the next `_bulk` calls, a `_bulk`
 * item refused with 400 `mapper_parsing_exception` for every document of a refused account or version (the others go
 * through), a request held until the client gives up (then dropped: nothing of it is applied), and `_bulk` calls in
 * flight together forwarded in reverse order (`holdInReverse`).
 */
export interface OpenSearchFaultProxy {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function startOpenSearchFaultProxy(target: string, state: ClientFaultState): Promise<OpenSearchFaultProxy> {
  const upstream = new URL(target);
  const server = createServer((req, res) => void handle(req, res).catch((error: unknown) => fail(res, 502, String(error))));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const bulk = req.method === 'POST' && /\/_bulk(\?|$)/.test(req.url ?? '');
    const lines = bulk ? body.toString('utf8').split('\n').filter((line) => line.length > 0) : [];
    const actions = bulk ? bulkActions(lines) : [];
    if (bulk) state.entriesPerCall.push(actions.length);
    if (bulk && state.reverse) await holdInReverse(state);
    if (state.hang) return void req.socket.once('close', () => undefined);
    if (bulk && state.failNextCalls > 0) {
      state.failNextCalls -= 1;
      return fail(res, 503, 'contract fault: the cluster is briefly unavailable');
    }
    const refused = actions.map((action) => isRefused(state, action.id, action.version));
    if (!refused.some(Boolean)) return forward(req, res, body);
    const passed = actions.filter((_, index) => !refused[index]).flatMap((action) => action.lines);
    const answer = passed.length > 0 ? await call(req, Buffer.from(`${passed.join('\n')}\n`)) : { status: 200, body: { took: 0, errors: false, items: [] } };
    const items = [...((answer.body as { items?: unknown[] }).items ?? [])];
    const merged = actions.map((action, index) =>
      refused[index]
        ? { [action.op]: { _index: action.index, _id: action.id, status: 400, error: { type: 'mapper_parsing_exception', reason: 'refused by the contract test' } } }
        : items.shift(),
    );
    send(res, answer.status, { ...(answer.body as object), errors: true, items: merged });
  }

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const outgoing = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    outgoing.on('error', (error) => fail(res, 502, String(error)));
    outgoing.end(body);
  }

  function call(req: IncomingMessage, body: Buffer): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const headers = { 'content-type': 'application/x-ndjson', 'content-length': body.length, host: upstream.host };
      const outgoing = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (answer) => {
        void readBody(answer).then((text) => resolve({ status: answer.statusCode ?? 502, body: JSON.parse(text.toString('utf8')) as unknown }), reject);
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface BulkAction {
  readonly op: string;
  readonly index: string | undefined;
  readonly id: string;
  /** The external version the action carries. */
  readonly version: number | undefined;
  /** The action line and, unless a delete, its source line. */
  readonly lines: readonly string[];
}

function bulkActions(lines: readonly string[]): BulkAction[] {
  const actions: BulkAction[] = [];
  for (let index = 0; index < lines.length; ) {
    const line = lines[index] as string;
    const [op, meta] = Object.entries(JSON.parse(line) as Record<string, { _index?: string; _id?: string; version?: number }>)[0] ?? ['index', {}];
    const withSource = op !== 'delete';
    actions.push({ op, index: meta._index, id: String(meta._id ?? ''), version: meta.version, lines: withSource ? [line, lines[index + 1] as string] : [line] });
    index += withSource ? 2 : 1;
  }
  return actions;
}

function readBody(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': payload.length });
  res.end(payload);
}

function fail(res: ServerResponse, status: number, reason: string): void {
  if (res.headersSent) return void res.destroy();
  send(res, status, { error: { type: status === 503 ? 'unavailable_shards_exception' : 'proxy_error', reason }, status });
}
