/**
 * A stand-in for an OpenSearch 2.x cluster (OpenSearch itself cannot be installed here): a `node:http` server
 * that the real `@opensearch-project/opensearch` client talks to by endpoint. It is NOT OpenSearch: one node,
 * in-memory single-shard indices, no relevance scoring, no refresh interval (writes are searchable at once).
 * It is faithful where a consumer relies on it: routes, status codes and response bodies of the document,
 * `_bulk`, index and search APIs; internal and external versioning with delete tombstones kept for
 * `index.gc_deletes`; mapping checks (mapper_parsing_exception, strict dynamic mapping); and OpenSearch's error
 * body `{ error: { root_cause, type, reason }, status }`; the request body limit (`maxContentLength`, 10 MiB as on
 * small Amazon OpenSearch Service instance types: 413, see `content-length.ts`). Fault injection (see `faults.ts`)
 * answers 429s, 503s, write blocks (cluster_block_exception) and scripted errors (an access denial, a gateway's 502),
 * as whole requests or per `_bulk` item, and holds requests to make them slow, from a seeded PRNG, so runs replay.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { hold } from '../hold';
import { checkMaxContentLength, readBodyWithin, tooLarge } from './content-length';
import { OpenSearchError } from './errors';
import { FaultDice, FrontEndError, requestKind, type OpenSearchFaults } from './faults';
import { Cluster, type Reply } from './routes';

export { REJECTED_EXECUTION_TYPE } from './errors';
export type { OpenSearchFaults } from './faults';
export { OPENSEARCH_VERSION } from './info';

export interface StoredDocument {
  readonly id: string;
  readonly version: number;
  readonly source: Record<string, unknown>;
  readonly seqNo: number;
}

export interface AcceptedWrite {
  readonly id: string;
  readonly version: number;
  readonly op: 'index' | 'delete';
  readonly at: number;
  /** The indexed source (read-only); absent for a delete. */
  readonly source?: Readonly<Record<string, unknown>>;
}

export interface OpenSearchStandIn {
  /** e.g. http://127.0.0.1:41234 */
  readonly endpoint: string;
  /** Replaces the current faults and reseeds the fault PRNG; `{}` turns them off. */
  setFaults(faults: OpenSearchFaults): void;
  document(index: string, id: string): StoredDocument | undefined;
  /** The documents of an index sorted by id; [] if the index does not exist. */
  documents(index: string): StoredDocument[];
  /** Every index or delete the index accepted, in arrival order, with when (ms); [] if the index does not exist. */
  writes(index: string): readonly AcceptedWrite[];
  /**
   * Counters: `requests` (all), requests by route kind that were not faulted (`bulk`, `search`, `count`,
   * `indexDoc`, `getDoc`, `deleteDoc`, `updateDoc`, `createIndex`, ...), `bulkItems`, and what went wrong:
   * `throttled`, `itemThrottled`, `unavailable`, `writeBlocked`, `itemWriteBlocked`, `itemFloodBlocked`, `held`
   * (slow), `abandoned` (held, then dropped: the client had left), `conflicts` (409s, also inside `_bulk`),
   * `mappingErrors`, `scriptedErrors` and `itemScriptedErrors` (`requestError`, `itemError`), `tooLarge` (413s);
   * and `largestRequestBytes`, the largest request body received (on the wire).
   */
  readonly stats: Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

const COUNTERS = ['requests', 'bulk', 'bulkItems', 'search', 'count', 'indexDoc', 'getDoc', 'deleteDoc', 'throttled',
  'itemThrottled', 'unavailable', 'writeBlocked', 'itemWriteBlocked', 'itemFloodBlocked', 'held', 'abandoned',
  'conflicts', 'mappingErrors', 'tooLarge', 'largestRequestBytes', 'scriptedErrors', 'itemScriptedErrors'] as const;

function toStored(doc: { id: string; version: number; seqNo: number; source: Record<string, unknown> }): StoredDocument {
  return { id: doc.id, version: doc.version, source: structuredClone(doc.source), seqNo: doc.seqNo };
}

function decode(body: Buffer, encoding: string | undefined): string {
  try {
    if (encoding?.includes('gzip')) return gunzipSync(body).toString('utf8');
    if (encoding?.includes('deflate')) return inflateSync(body).toString('utf8');
  } catch (error) {
    throw new OpenSearchError(400, 'illegal_argument_exception', `failed to decompress the request body: ${String(error)}`);
  }
  return body.toString('utf8');
}

function send(request: IncomingMessage, response: ServerResponse, reply: Reply): void {
  const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=UTF-8' };
  if (request.method === 'HEAD' || reply.body === undefined) {
    response.writeHead(reply.status, { ...headers, 'content-length': 0 });
    response.end();
    return;
  }
  let payload = Buffer.from(JSON.stringify(reply.body), 'utf8');
  if (String(request.headers['accept-encoding'] ?? '').includes('gzip')) {
    payload = gzipSync(payload);
    headers['content-encoding'] = 'gzip';
  }
  response.writeHead(reply.status, { ...headers, 'content-length': payload.length });
  response.end(payload);
}

export interface OpenSearchStandInOptions extends OpenSearchFaults {
  port?: number;
  host?: string;
  /** Largest request body accepted, in bytes (wire and decompressed); larger ones are answered 413. @default 10 MiB */
  maxContentLength?: number;
  /** The cluster's clock (ms), e.g. to step past `index.gc_deletes` in a test. @default Date.now */
  clock?: () => number;
}

/** Starts the stand-in on `host` (127.0.0.1) and `port` (0: a free port). */
export async function startOpenSearchStandIn(options: OpenSearchStandInOptions = {}): Promise<OpenSearchStandIn> {
  const { port = 0, host = '127.0.0.1', maxContentLength, clock = Date.now, ...initialFaults } = options;
  const maxBytes = checkMaxContentLength(maxContentLength);
  const counters: Record<string, number> = Object.fromEntries(COUNTERS.map((name) => [name, 0]));
  const count = (stat: string, by = 1): void => {
    counters[stat] = (counters[stat] ?? 0) + by;
  };
  let faults = new FaultDice(initialFaults, count);
  const setFaults = (next: OpenSearchFaults): void => {
    faults = new FaultDice(next, count);
  };
  const cluster = new Cluster({ count, rejectItem: (index, action) => faults.itemFault(index, action) }, clock);

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const { bytes, body: raw } = await readBodyWithin(request, maxBytes);
    const method = (request.method ?? 'GET').toUpperCase();
    // The path as sent: WHATWG URL parsing would resolve `.` and `..` segments (a document id of `..` read as the
    // index itself), which OpenSearch's HTTP layer never does.
    const target = request.url ?? '/';
    const queryAt = target.indexOf('?');
    const url = { pathname: queryAt === -1 ? target : target.slice(0, queryAt), searchParams: new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1)) };
    count('requests');
    counters.largestRequestBytes = Math.max(counters.largestRequestBytes ?? 0, bytes);
    // No signature check; counting SigV4-signed requests lets a test see that a client signs.
    if (String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256')) count('signed');
    // The front end refuses an oversized body before anything else (faults, holds, parsing) happens.
    if (raw === undefined) {
      count('tooLarge');
      send(request, response, tooLarge(maxBytes));
      return;
    }
    let reply: Reply;
    try {
      let segments: string[];
      try {
        segments = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
      } catch {
        throw new OpenSearchError(400, 'illegal_argument_exception', `unable to decode the path [${url.pathname}]`);
      }
      const kind = requestKind(method, segments);
      const holdMs = faults.holdMs(kind);
      if (holdMs > 0 && !(await hold(response, holdMs))) {
        count('abandoned');
        return;
      }
      const injected = faults.requestFault(kind, segments[0], raw.length);
      if (injected !== undefined) throw injected;
      const body = decode(raw, request.headers['content-encoding']);
      if (Buffer.byteLength(body, 'utf8') > maxBytes) {
        count('tooLarge');
        send(request, response, tooLarge(maxBytes));
        return;
      }
      reply = cluster.handle({ method, path: url.pathname, segments, query: url.searchParams, body });
    } catch (caught) {
      if (caught instanceof FrontEndError) {
        send(request, response, { status: caught.status, body: caught.body });
        return;
      }
      const error = caught instanceof OpenSearchError
        ? caught
        : new OpenSearchError(500, 'exception', caught instanceof Error ? caught.message : String(caught));
      if (error.status === 409) count('conflicts');
      if (/mapper|mapping/.test(error.type)) count('mappingErrors');
      reply = { status: error.status, body: error.body() };
    }
    send(request, response, reply);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) {
        const failure = new OpenSearchError(500, 'exception', String(error));
        send(request, response, { status: 500, body: failure.body() });
      } else {
        response.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const endpoint = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  let stopped: Promise<void> | undefined;

  return {
    endpoint,
    setFaults,
    document(index, id) {
      const doc = cluster.indices.get(index)?.docs.get(id);
      return doc === undefined ? undefined : toStored(doc);
    },
    documents(index) {
      const docs = [...(cluster.indices.get(index)?.docs.values() ?? [])];
      return docs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(toStored);
    },
    writes(index) {
      return [...(cluster.indices.get(index)?.writes ?? [])];
    },
    get stats() {
      return Object.freeze({ ...counters });
    },
    stop() {
      stopped ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
