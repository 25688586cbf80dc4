import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ChangeRecord } from '../change-record/change-record';
import type { Watermark } from '../ordering/watermark';
import {
  GAPS_INDEX_PARTITION_KEY,
  GAPS_INDEX_SORT_KEY,
  LEDGER_PARTITION_KEY,
  LEDGER_SORT_KEY,
  WATERMARK_SORT_KEY,
  gapScope,
  ledgerPartitionKey,
  parkedSortKey,
} from './ledger-table';

type Item = Record<string, AttributeValue>;

const MARSHALL_OPTIONS = { removeUndefinedValues: true, convertClassInstanceToMap: true } as const;

/**
 * The watermark item. `destination`, `epoch` and `account_id` are repeated as plain attributes for people reading
 * the table; the gap index attributes exist only while the account waits, which keeps the index sparse.
 */
export function watermarkToItem(destination: string, epoch: string, w: Watermark): Item {
  return marshall(
    {
      [LEDGER_PARTITION_KEY]: ledgerPartitionKey(destination, epoch, w.accountId),
      [LEDGER_SORT_KEY]: WATERMARK_SORT_KEY,
      destination,
      epoch,
      account_id: w.accountId,
      watermark: w.version,
      revision: w.revision,
      ahead: [...w.ahead],
      parked: [...w.parked],
      dead_lettered: [...w.deadLettered],
      last_image: w.lastImage,
      claim: w.claim
        ? { owner: w.claim.owner, version: w.claim.version, through: w.claim.through, expires_at: w.claim.expiresAt }
        : undefined,
      floor: w.floor,
      updated_at: w.updatedAt,
      ...(w.gapSince !== undefined
        ? { [GAPS_INDEX_PARTITION_KEY]: gapScope(destination, epoch), [GAPS_INDEX_SORT_KEY]: w.gapSince }
        : {}),
    },
    MARSHALL_OPTIONS,
  );
}

export function itemToWatermark(item: Item): Watermark {
  const raw = unmarshall(item);
  const claim = raw.claim as { owner: string; version: number; through?: number; expires_at: number } | undefined;
  // The same field order and the same keys, present or undefined, as every other watermark (see emptyWatermark).
  return {
    accountId: raw.account_id as string,
    version: raw.watermark as number,
    revision: raw.revision as number,
    ahead: (raw.ahead ?? []) as number[],
    parked: (raw.parked ?? []) as number[],
    deadLettered: (raw.dead_lettered ?? []) as number[],
    lastImage: raw.last_image,
    claim: claim
      ? {
          owner: claim.owner,
          version: claim.version,
          expiresAt: claim.expires_at,
          ...(claim.through !== undefined ? { through: claim.through } : {}),
        }
      : undefined,
    gapSince: raw[GAPS_INDEX_SORT_KEY] as number | undefined,
    floor: raw.floor as number | undefined,
    updatedAt: raw.updated_at as number,
  };
}

/** A parked record: the whole change, so it can be delivered from the ledger alone. No TTL, ever. */
export function parkedToItem(destination: string, epoch: string, record: ChangeRecord, parkedAt: number): Item {
  return marshall(
    {
      [LEDGER_PARTITION_KEY]: ledgerPartitionKey(destination, epoch, record.accountId),
      [LEDGER_SORT_KEY]: parkedSortKey(record.version),
      account_id: record.accountId,
      version: record.version,
      parked_at: parkedAt,
      record,
    },
    MARSHALL_OPTIONS,
  );
}

export function itemToParked(item: Item): ChangeRecord {
  return unmarshall(item).record as ChangeRecord;
}
