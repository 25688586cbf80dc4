import { LEDGER_PARTITION_KEY, ledgerPartitionKey } from '../../shared/ledger/ledger-table';
import { parallelScan } from '../parallel-scan';
import type { PipelineTarget } from '../target';

/** Items one page of the used-epoch scan reads at most (DynamoDB stops a page at 1 MB read anyway). */
export const EPOCH_SCAN_PAGE_ITEMS = 1000;
/** Parallel segments of the used-epoch scan (as `status` and `reconcile` scan the accounts table). */
export const EPOCH_SCAN_SEGMENTS = 4;

/**
 * The replay epoch's name when `--epoch` is not given: the replay's start and the time it was planned, so a second
 * replay from the same start gets a fresh epoch rather than one whose watermarks already say "delivered".
 * `replay-20261101T000000Z-20261205T072347Z`.
 */
export function defaultEpoch(fromMs: number, nowMs: number): string {
  const compact = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
  return `replay-${compact(fromMs)}-${compact(nowMs)}`;
}

export interface EpochScanOptions {
  /** @default EPOCH_SCAN_SEGMENTS */
  readonly segments?: number;
  /** @default EPOCH_SCAN_PAGE_ITEMS */
  readonly pageItems?: number;
  /** Called when a segment is done, and once at the start with 0. */
  onProgress?(segmentsDone: number, segments: number): void;
}

export interface EpochUse {
  /** The account of the first item found under the epoch (its key `<destination>#<epoch>#<account>`); none: unused. */
  readonly found?: string;
  /** Scan requests made, and the items they read before the filter (what the scan is billed by, with their size). */
  readonly pages: number;
  readonly scanned: number;
}

/**
 * Whether the ledger holds any item of `destination` under `epoch`: a used epoch holds the watermarks (and any parked
 * records) of the accounts it delivered, all under partition keys `<destination>#<epoch>#<account>`, and a replay under
 * it would skip everything it delivered then. The key design has no index of epochs (the partition key starts with the
 * destination and the epoch, but a Query needs a whole partition key, and the sparse `gaps` index, keyed by both, holds
 * only the accounts waiting now), so this is a Scan of the table, conclusive: parallel segments of pages of at most `pageItems`
 * items, eventually consistent, filtered on `begins_with(pk, "<destination>#<epoch>#")` and returning `pk` only. Once one
 * segment has found an item (or failed), every segment stops after its page in flight. An unused epoch reads the whole
 * table (billed by the size of all it reads, before the filter); a used one usually stops within a few pages.
 */
export async function epochInLedger(target: PipelineTarget, destination: string, epoch: string, options: EpochScanOptions = {}): Promise<EpochUse> {
  const prefix = ledgerPartitionKey(destination, epoch, '');
  let found: string | undefined;
  let pages = 0;
  let scanned = 0;
  const input = {
    TableName: target.ledgerTable,
    Limit: options.pageItems ?? EPOCH_SCAN_PAGE_ITEMS,
    FilterExpression: 'begins_with(#pk, :prefix)',
    ProjectionExpression: '#pk',
    ExpressionAttributeNames: { '#pk': LEDGER_PARTITION_KEY },
    ExpressionAttributeValues: { ':prefix': { S: prefix } },
  };
  await parallelScan(target.dynamodb, input, {
    segments: options.segments ?? EPOCH_SCAN_SEGMENTS,
    onPage: (output) => {
      pages += 1;
      scanned += output.ScannedCount ?? 0;
      const hit = (output.Items ?? []).map((item) => item[LEDGER_PARTITION_KEY]?.S).find((key) => key?.startsWith(prefix));
      found ??= hit?.slice(prefix.length);
      return found !== undefined;
    },
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return { ...(found !== undefined ? { found } : {}), pages, scanned };
}
