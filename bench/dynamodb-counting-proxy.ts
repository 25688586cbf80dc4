import { createServer, request, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LEDGER_PARTITION_KEY } from '../shared/ledger/ledger-table';

/** Item-level requests to one table, per destination (the ledger's partition keys begin `<destination>#`). */
export interface TableCounts {
  /** Item-level writes: a PutItem, UpdateItem or DeleteItem counts 1, a BatchWriteItem or TransactWriteItems its items. */
  itemWrites: number;
  /** Item-level reads: a GetItem 1, a BatchGetItem its keys, a Query or Scan 1 per call. */
  itemReads: number;
  /** HTTP requests that named the table, retries included. */
  requests: number;
  /** Requests DynamoDB refused (a ConditionalCheckFailedException or a cancelled transaction included). */
  refused: number;
  /** Requests by operation (`PutItem`, `TransactWriteItems`, ...). */
  byOperation: Record<string, number>;
}

export interface CountingProxy {
  readonly endpoint: string;
  /** Counts so far, by table name, then by the first `#` part of each item's partition key (`?` when it has none). */
  counts(): ReadonlyMap<string, ReadonlyMap<string, TableCounts>>;
  stop(): Promise<void>;
}

type Attributes = Record<string, { S?: string } | undefined>;
interface Touch {
  readonly table: string;
  readonly scope: string;
  readonly writes: number;
  readonly reads: number;
}

const scopeOf = (item: Attributes | undefined): string => item?.[LEDGER_PARTITION_KEY]?.S?.split('#')[0] ?? '?';

/** What a DynamoDB JSON request touches: table, partition-key scope, item writes and reads. */
function touches(operation: string, body: Record<string, unknown>): Touch[] {
  const table = typeof body.TableName === 'string' ? body.TableName : '';
  switch (operation) {
    case 'PutItem':
      return [{ table, scope: scopeOf(body.Item as Attributes), writes: 1, reads: 0 }];
    case 'UpdateItem':
    case 'DeleteItem':
      return [{ table, scope: scopeOf(body.Key as Attributes), writes: 1, reads: 0 }];
    case 'GetItem':
      return [{ table, scope: scopeOf(body.Key as Attributes), writes: 0, reads: 1 }];
    case 'Query':
    case 'Scan': {
      // The ledger's queries name their scope in the first expression value (`:pk` or `:scope`).
      const values = (body.ExpressionAttributeValues ?? {}) as Attributes;
      const first = Object.values(values)[0]?.S?.split('#')[0] ?? '?';
      return [{ table, scope: first, writes: 0, reads: 1 }];
    }
    case 'BatchWriteItem':
      return Object.entries((body.RequestItems ?? {}) as Record<string, { PutRequest?: { Item: Attributes }; DeleteRequest?: { Key: Attributes } }[]>).flatMap(
        ([name, requests]) => requests.map((r) => ({ table: name, scope: scopeOf(r.PutRequest?.Item ?? r.DeleteRequest?.Key), writes: 1, reads: 0 })),
      );
    case 'BatchGetItem':
      return Object.entries((body.RequestItems ?? {}) as Record<string, { Keys?: Attributes[] }>).flatMap(([name, { Keys = [] }]) =>
        Keys.map((key) => ({ table: name, scope: scopeOf(key), writes: 0, reads: 1 })),
      );
    case 'TransactWriteItems':
      return ((body.TransactItems ?? []) as Record<string, { TableName: string; Item?: Attributes; Key?: Attributes }>[]).flatMap((item) =>
        Object.values(item).map((action) => ({ table: action.TableName, scope: scopeOf(action.Item ?? action.Key), writes: 1, reads: 0 })),
      );
    case 'TransactGetItems':
      return ((body.TransactItems ?? []) as { Get: { TableName: string; Key: Attributes } }[]).map(({ Get }) => ({
        table: Get.TableName,
        scope: scopeOf(Get.Key),
        writes: 0,
        reads: 1,
      }));
    default:
      return [];
  }
}

/**
 * A loopback HTTP proxy in front of DynamoDB Local that counts item-level requests per table and partition-key scope:
 * the local pipeline's functions run in worker threads with their own SDK clients, so only the wire shows what they
 * ask of the ledger. Every DynamoDB (and DynamoDB Streams) request of the run passes through it, one more loopback
 * hop on a kept-alive connection.
 */
export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  const counts = new Map<string, Map<string, TableCounts>>();
  const countsOf = (table: string, scope: string, operation?: string): TableCounts => {
    let perTable = counts.get(table);
    if (!perTable) counts.set(table, (perTable = new Map()));
    let entry = perTable.get(scope);
    if (!entry) perTable.set(scope, (entry = { itemWrites: 0, itemReads: 0, requests: 0, refused: 0, byOperation: {} }));
    if (operation !== undefined) entry.byOperation[operation] = (entry.byOperation[operation] ?? 0) + 1;
    return entry;
  };

  const server = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(incoming.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
      let touched: Touch[] = [];
      try {
        if (body.length > 0) touched = touches(operation, JSON.parse(body.toString('utf8')) as Record<string, unknown>);
      } catch {
        touched = [];
      }
      // Each (table, scope) a request touched counts the request once, and once more if DynamoDB refused it.
      const tables = new Set<string>();
      for (const touch of touched) {
        const key = `${touch.table}\0${touch.scope}`;
        const entry = countsOf(touch.table, touch.scope, tables.has(key) ? undefined : operation);
        entry.itemWrites += touch.writes;
        entry.itemReads += touch.reads;
        if (!tables.has(key)) entry.requests += 1;
        tables.add(key);
      }
      const forward = request(
        { host: target.hostname, port: target.port, method: incoming.method, path: incoming.url, headers: incoming.headers, agent },
        (answer) => {
          if ((answer.statusCode ?? 500) >= 400) {
            for (const key of tables) {
              const [table, scope] = key.split('\0') as [string, string];
              countsOf(table, scope).refused += 1;
            }
          }
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forward.on('error', (error) => {
        if (!outgoing.headersSent) outgoing.writeHead(502, { 'content-type': 'text/plain' });
        outgoing.end(String(error));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts: () => counts,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
