import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ACCOUNTS_KEY, isValidVersion, type AccountImage } from '../../shared/accounts/account';
import { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { above, countVersions, holesBetween, removeVersions, type VersionRanges } from '../../shared/ordering/version-ranges';
import type { Watermark } from '../../shared/ordering/watermark';
import { parallelScan } from '../parallel-scan';
import { destinationOf, type PipelineTarget } from '../target';
import { EXACT_NUMBERS } from '../../shared/accounts/image-json';

/** What `status` and `reconcile` read: the Accounts table (a parallel scan) and each destination's watermarks. */

/** One Accounts item as scanned: its id, its version, its `updated_at` and (when asked for) the whole item. */
export interface ScannedAccount {
  readonly accountId: string;
  readonly version: number;
  /** When its latest change was written, as the writer stamped it; the engine judges a replay's window by it. */
  readonly updatedAt?: string;
  readonly item?: AccountImage;
}

export interface ScanOptions {
  /** Parallel scan segments. @default 4 */
  readonly segments?: number;
  /** Read whole items (`item`), not only the id and the version. */
  readonly items?: boolean;
  /** Called with every page (pages of different segments may be handled at the same time). */
  onPage(accounts: readonly ScannedAccount[]): Promise<void>;
  /** Called when a segment is done, and once at the start with 0. */
  onProgress?(segmentsDone: number, segments: number): void;
}

/** Walks the Accounts table with a parallel, consistent Scan; returns how many accounts it saw. */
export async function scanAccounts(target: PipelineTarget, options: ScanOptions): Promise<number> {
  const segments = options.segments ?? 4;
  if (!Number.isSafeInteger(segments) || segments < 1 || segments > 1_000_000) {
    throw new RangeError(`segments must be an integer between 1 and 1000000, got ${segments}`);
  }
  let seen = 0;
  const input = {
    TableName: target.accountsTable,
    ConsistentRead: true,
    ...(options.items
      ? {}
      : { ProjectionExpression: '#id, #version, #updated', ExpressionAttributeNames: { '#id': ACCOUNTS_KEY, '#version': 'version', '#updated': 'updated_at' } }),
  };
  await parallelScan(target.dynamodb, input, {
    segments,
    onPage: async (output) => {
      const accounts: ScannedAccount[] = [];
      for (const raw of output.Items ?? []) {
        const accountId = raw[ACCOUNTS_KEY]?.S;
        const version = Number(raw.version?.N);
        if (accountId === undefined || !isValidVersion(version)) continue;
        const updatedAt = raw.updated_at?.S;
        const known = updatedAt === undefined ? { accountId, version } : { accountId, version, updatedAt };
        accounts.push(options.items ? { ...known, item: unmarshall(raw, EXACT_NUMBERS) as AccountImage } : known);
      }
      seen += accounts.length;
      if (accounts.length > 0) await options.onPage(accounts);
    },
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return seen;
}

/** The watermarks of `accountIds` in the ledger, read in BatchGets of 100 keys. */
export async function loadWatermarks(ledger: DynamoDBLedger, accountIds: readonly string[]): Promise<Map<string, Watermark>> {
  const found = new Map<string, Watermark>();
  for (let start = 0; start < accountIds.length; start += 100) {
    for (const [id, watermark] of await ledger.load(accountIds.slice(start, start + 100))) found.set(id, watermark);
  }
  return found;
}

/**
 * How many of an account's versions up to the table's `version` the destination lacks, by its watermark (none: all of
 * them). Above the watermark, those not delivered; `every-version` delivers past a gap (`ahead`), and its watermark
 * passes versions it gave up on (`owed`: dead-lettered, or a gap timed out), which the audit log does not hold until
 * a redrive or a replay delivers them. Owed versions at or below the floor precede the account's start (a baseline or
 * a replay's window): they were never this epoch's to deliver. `in-order` skips are an operator's decision, not lag.
 */
export function versionsMissing(watermark: Watermark | undefined, version: number, mode: DeliveryMode): number {
  if (!watermark) return version;
  if (mode !== 'every-version') return Math.max(0, version - watermark.version);
  const notAhead = countVersions(holesBetween(watermark.ahead, watermark.version + 1, version));
  return notAhead + countVersions(owedUnder(watermark, version));
}

/** `every-version`: the versions its watermark passed without delivering them, above the floor, up to `version`. */
export function owedUnder(watermark: Watermark, version: number): VersionRanges {
  const owed = above(watermark.owed, watermark.floor ?? 0);
  return removeVersions(owed, Math.min(watermark.version, version) + 1, Number.MAX_SAFE_INTEGER);
}

/** The ledger of one destination of the target, under the epoch the target runs it with. */
export function ledgerOf(target: PipelineTarget, destination: string): DynamoDBLedger {
  return new DynamoDBLedger({
    client: target.dynamodb,
    tableName: target.ledgerTable,
    destination,
    epoch: destinationOf(target, destination).epoch,
  });
}
