import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Client } from '@opensearch-project/opensearch';
import type { AuditObject } from '../../consumers/audit/audit-object';
import type { FraudEventDetail } from '../../consumers/fraud/fraud-event';
import { mapLimited } from '../../shared/async/limited';
import type { LocalEnvironment } from './environment';

/** One delivery a destination accepted, as read back from it, in arrival order. */
export interface Accepted {
  readonly accountId: string;
  readonly version: number;
  readonly healed: boolean;
  /** The balance the destination holds for this version; absent for a tombstone. */
  readonly balance?: number;
  /** When the destination accepted it (ms since the epoch). */
  readonly at: number;
}

/**
 * The audit log through the real S3 client: every object listed and read. Arrival order and times come from the
 * create-only proxy's log of the writes that created an object.
 */
export async function readAudit(env: LocalEnvironment): Promise<Accepted[]> {
  const bucket = env.resources.auditBucket;
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await env.s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const arrival = new Map(env.s3Proxy.created.map(({ path, at }, index) => [decodeURIComponent(path.replace(`/${bucket}/`, '')), { at, index }]));
  const objects = await mapLimited(keys, 16, async (key) => {
    const response = await env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const object = JSON.parse(await (response.Body as { transformToString(): Promise<string> }).transformToString()) as AuditObject;
    const seen = arrival.get(key);
    return { object, at: seen?.at ?? response.LastModified?.getTime() ?? 0, order: seen?.index ?? Number.MAX_SAFE_INTEGER };
  });
  return objects
    .sort((a, b) => a.order - b.order || a.at - b.at)
    .map(({ object, at }) => ({
      accountId: object.accountId,
      version: object.version,
      healed: object.healed,
      ...(object.balanceAfter === null ? {} : { balance: object.balanceAfter }),
      at,
    }));
}

export interface SearchReadBack {
  /** Every write the index accepted, in arrival order (the stand-in's log). */
  readonly writes: Accepted[];
  /** What the index holds now, through the real OpenSearch client: version and balance per account. */
  readonly documents: ReadonlyMap<string, { readonly version: number; readonly balance: number | undefined }>;
}

export async function readSearch(env: LocalEnvironment): Promise<SearchReadBack> {
  const index = env.resources.index;
  const writes: Accepted[] = env.openSearch.writes(index).map((write) => ({
    accountId: write.id,
    version: write.version,
    healed: false,
    ...(typeof write.source?.balance === 'number' ? { balance: write.source.balance } : {}),
    at: write.at,
  }));
  const client = new Client({ node: env.endpoints.opensearch });
  try {
    const documents = new Map<string, { version: number; balance: number | undefined }>();
    const exists = await client.indices.exists({ index });
    if (exists.body) {
      const response = await client.search({ index, body: { query: { match_all: {} }, size: 10_000 }, version: true });
      for (const hit of response.body.hits.hits as { _id: string; _version: number; _source: { balance?: number } }[]) {
        documents.set(hit._id, { version: hit._version, balance: hit._source.balance });
      }
    }
    return { writes, documents };
  } finally {
    await client.close();
  }
}

/** What the EventBridge stand-in received on the fraud bus, in arrival order. */
export function readFraud(env: LocalEnvironment): Accepted[] {
  return env.eventBridge.events(env.resources.eventBus).map((event) => {
    const detail = event.detail as FraudEventDetail;
    return {
      accountId: detail.accountId,
      version: detail.version,
      healed: detail.healed,
      ...(detail.newBalance === null ? {} : { balance: detail.newBalance }),
      at: event.receivedAt,
    };
  });
}

/**
 * What a destination of the run has accepted so far, cheaply and while faults may still be on (no read through a
 * client the stand-in could refuse): the built-ins from their stand-ins' own logs, a plug-in by its read-back.
 */
export async function acceptedSoFar(env: LocalEnvironment, destination: string): Promise<readonly { readonly accountId: string; readonly version: number }[]> {
  const plugin = env.plugins.find((run) => run.name === destination);
  if (plugin) return plugin.standIn.readBack();
  switch (destination) {
    case 'audit':
      return env.s3Proxy.created.flatMap(({ path }) => {
        const match = /account_id=([^/]+)\/version=(\d+)\.json$/.exec(path);
        return match ? [{ accountId: decodeURIComponent(match[1] as string), version: Number(match[2]) }] : [];
      });
    case 'search':
      return env.openSearch.writes(env.resources.index).map((write) => ({ accountId: write.id, version: write.version }));
    case 'fraud':
      return readFraud(env);
    default:
      throw new UnknownRunDestinationError(destination);
  }
}

/** A destination name that is neither a built-in nor a plug-in of this run. */
export class UnknownRunDestinationError extends Error {
  constructor(readonly destination: string) {
    super(`the run has no destination "${destination}"`);
    this.name = 'UnknownRunDestinationError';
  }
}
