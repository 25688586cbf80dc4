import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { AuditObject } from '../../consumers/audit/audit-object';
import { AUDIT_KEY_PREFIX } from '../../infra/config/consumer-environment';
import type { AuditSettings } from '../../infra/config/pipeline-config';
import type { Accepted } from '../../local/pipeline/read-back';
import type { LocalPlugin } from '../../local/plugins/local-plugin';
import { faultProfile, injectedOf, ratedFault, slowFault, type DestinationFaultKinds } from '../../local/standins/fault-spec';
import type { S3CreateOnlyProxy, S3ProxyFaults } from '../../local/standins/s3-create-only-proxy';
import { mapLimited } from '../../shared/async/limited';
import { SHORTENED_KEY_PART } from '../../shared/accounts/account-key';

/** What S3 (the create-only proxy) can do to audit's writes for `--destination-faults`. */
const AUDIT_FAULTS: DestinationFaultKinds = {
  kinds: {
    '503': ratedFault('slowDownRate', 'PutObject requests answered 503 SlowDown'),
    slow: slowFault('PutObject requests'),
  },
  all: '503:0.05,slow:0.01@20000',
};

/**
 * The audit bucket on fauxqs, behind the run's create-only proxy (which gives S3's conditional writes), read back
 * object by object through the real S3 client. The proxy's log of the objects it created gives their arrival order.
 */
export const auditLocal: LocalPlugin<AuditSettings> = {
  faults: AUDIT_FAULTS,
  duplicates: 'S3 is create-only',
  async start({ s3, s3Proxy, suffix }) {
    const bucket = `ordered-fanout-audit${suffix}`.toLowerCase();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const created = (): S3CreateOnlyProxy['created'] => s3Proxy.created.filter(({ path }) => path.startsWith(`/${bucket}/`));
    // The proxy logs the request path: the key as the client encoded it (`=` as `%3D`).
    const keyOf = (path: string): string => decodeURIComponent(path.slice(bucket.length + 2));
    // A shortened key's account, read once.
    const versionsOfKeys = new Map<string, { accountId: string; version: number } | undefined>();
    const versionOfKey = async (key: string) => {
      if (!versionsOfKeys.has(key)) versionsOfKeys.set(key, await auditVersionOfKey(s3, bucket, key));
      return versionsOfKeys.get(key);
    };
    return {
      environment: { AUDIT_BUCKET_NAME: bucket, AUDIT_KEY_PREFIX },
      resource: `audit bucket ${bucket}`,
      readBack: () => readAudit(s3, bucket, created().map(({ path, at }) => ({ key: keyOf(path), at }))),
      // From the proxy's log, not the bucket: no S3 call, which a fault could refuse, and no object read per poll; only
      // a key whose account part was shortened (`auditObjectKey`) is read once, for the whole id its object holds.
      acceptedSoFar: async () => {
        const accepted: { accountId: string; version: number }[] = [];
        for (const { path } of created()) {
          const version = await versionOfKey(keyOf(path));
          if (version) accepted.push(version);
        }
        return accepted;
      },
      failCalls: (rate, seed) => s3Proxy.setFaults({ slowDownRate: rate, seed }),
      injectFaults: (rules, seed) => s3Proxy.setFaults(faultProfile(AUDIT_FAULTS.kinds, rules, seed) as S3ProxyFaults),
      injectedCounts: () => injectedOf(s3Proxy.faultStats, ['slowDowns', 'held', 'abandoned']),
      // The bucket goes with fauxqs, which the run stops.
      stop: async () => undefined,
    };
  },
};

/** Every object of the bucket, listed and read through the real S3 client, in the order the proxy created them. */
async function readAudit(s3: S3Client, bucket: string, created: readonly { key: string; at: number }[]): Promise<Accepted[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const arrival = new Map(created.map(({ key, at }, index) => [key, { at, index }]));
  const objects = await mapLimited(keys, 16, async (key) => {
    const { object, lastModified } = await readObjectAt(s3, bucket, key);
    const seen = arrival.get(key);
    return { object, at: seen?.at ?? lastModified ?? 0, order: seen?.index ?? Number.MAX_SAFE_INTEGER };
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

/**
 * The account version an audit object's key names (`auditObjectKey`): read off the key, or, where its account part
 * was shortened, from the object, which holds the whole id. Undefined for a key that is not an audit object's.
 */
export async function auditVersionOfKey(s3: S3Client, bucket: string, key: string): Promise<{ accountId: string; version: number } | undefined> {
  const match = /account_id=([^/]+)\/version=(\d+)\.json$/.exec(key);
  if (!match) return undefined;
  const part = match[1] as string;
  const accountId = SHORTENED_KEY_PART.test(part) ? (await readObjectAt(s3, bucket, key)).object.accountId : decodeURIComponent(part);
  return { accountId, version: Number(match[2]) };
}

/** One audit object, read through the real S3 client, with when S3 says it was written. */
async function readObjectAt(s3: S3Client, bucket: string, key: string): Promise<{ object: AuditObject; lastModified: number | undefined }> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const object = JSON.parse(await (response.Body as { transformToString(): Promise<string> }).transformToString()) as AuditObject;
  return { object, lastModified: response.LastModified?.getTime() };
}
