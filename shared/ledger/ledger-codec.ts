import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { gunzipSync } from 'node:zlib';
import { EXACT_NUMBERS, reviveImageValue } from '../accounts/image-json';
import type { ChangeKind, ChangeRecord } from '../change-record/change-record';
import type { Watermark } from '../ordering/watermark';
import { formatVersions, parseVersions } from '../ordering/version-ranges';
import { MAX_PARKED_RECORD_BYTES } from '../ordering/limits';
import { gzippedRecord, parkedRecordForm } from '../ordering/stored-image';
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
      // Version sets as compact range text ("2-9,12"): bounded by their number of ranges, never by their versions.
      ahead: optionalText(formatVersions(w.ahead)),
      parked: optionalText(formatVersions(w.parked)),
      owed: optionalText(formatVersions(w.owed)),
      skipped: optionalText(formatVersions(w.skipped)),
      last_image: nestsTooDeep(w.lastImage) ? undefined : w.lastImage,
      last_kind: w.lastKind,
      newest_created_at: w.newestCreatedAt,
      heals: w.heals.length > 0 ? w.heals.map((heal) => ({ version: heal.version, digest: heal.digest })) : undefined,
      // "version:createdAt" pairs: a few bytes each.
      recent: w.recent.length > 0 ? w.recent.map(recentEntryText).join(',') : undefined,
      skips: w.skips.length > 0 ? w.skips.map((skip) => ({ ...skip })) : undefined,
      claim: w.claim
        ? {
            owner: w.claim.owner,
            token: w.claim.token,
            version: w.claim.version,
            through: w.claim.through,
            expires_at: w.claim.expiresAt,
          }
        : undefined,
      home: w.home,
      home_active_at: w.homeActiveAt,
      home_candidate: w.homeCandidate,
      gap_notice: w.gapNotice ? { ...w.gapNotice } : undefined,
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
  const raw = unmarshall(item, EXACT_NUMBERS);
  const claim = raw.claim as { owner: string; token?: string; version: number; through?: number; expires_at: number } | undefined;
  // The same field order and the same keys, present or undefined, as every other watermark (see emptyWatermark).
  return {
    accountId: raw.account_id as string,
    version: raw.watermark as number,
    revision: raw.revision as number,
    ahead: parseVersions(raw.ahead as string | undefined),
    parked: parseVersions(raw.parked as string | undefined),
    owed: parseVersions(raw.owed as string | undefined),
    skipped: parseVersions(raw.skipped as string | undefined),
    lastImage: raw.last_image,
    lastKind: raw.last_kind,
    newestCreatedAt: raw.newest_created_at as number | undefined,
    heals: (raw.heals ?? []) as Watermark['heals'],
    recent: parseRecent(raw.recent as string | undefined),
    skips: (raw.skips ?? []) as Watermark['skips'],
    claim: claim
      ? {
          owner: claim.owner,
          token: claim.token ?? claim.owner,
          version: claim.version,
          expiresAt: claim.expires_at,
          ...(claim.through !== undefined ? { through: claim.through } : {}),
        }
      : undefined,
    home: raw.home as string | undefined,
    homeActiveAt: raw.home_active_at as number | undefined,
    homeCandidate: raw.home_candidate as string | undefined,
    gapSince: raw[GAPS_INDEX_SORT_KEY] as number | undefined,
    gapNotice: raw.gap_notice as Watermark['gapNotice'],
    floor: raw.floor as number | undefined,
    updatedAt: raw.updated_at as number,
  };
}

/**
 * A parked record: the whole change, so it can be delivered from the ledger alone; a big one gzipped (`record_gzip`,
 * see `parkedRecordForm`). No TTL, ever.
 */
export function parkedToItem(destination: string, epoch: string, record: ChangeRecord, parkedAt: number): Item {
  const form = parkedRecordForm(record, MAX_PARKED_RECORD_BYTES);
  // Gzipped, a record's images nest in no map at all; not gzipped already, its plain form was under 64 KB, so it stays small.
  const gzip = form.gzip ?? (nestsTooDeep(record) ? gzippedRecord(record) : undefined);
  return marshall(
    {
      [LEDGER_PARTITION_KEY]: ledgerPartitionKey(destination, epoch, record.accountId),
      [LEDGER_SORT_KEY]: parkedSortKey(record.version),
      account_id: record.accountId,
      version: record.version,
      parked_at: parkedAt,
      ...(gzip === undefined ? { record } : { record_gzip: gzip }),
    },
    MARSHALL_OPTIONS,
  );
}

/**
 * Maps and lists DynamoDB nests below an attribute: it refuses an item with more ("Nesting Levels have exceeded
 * supported limits"; measured on DynamoDB Local: 31 maps taken, 32 refused). An Accounts item may use them all, and
 * the ledger stores its image one level further down (`last_image`), a parked record two (`record.newImage`): such a
 * write was refused on every retry, and the account's shard stood still.
 */
const MAX_NESTED_CONTAINERS = 31;

/**
 * Whether `value`, stored as one attribute, would hold more than `MAX_NESTED_CONTAINERS` maps and lists inside each
 * other. Looks no deeper than that, so an image nested thousands deep costs no deep recursion. Sets, binary and
 * numbers beyond 2^53 are no containers.
 */
function nestsTooDeep(value: unknown, levelsLeft = MAX_NESTED_CONTAINERS): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const children = Array.isArray(value) ? value : isPlainObject(value) ? Object.values(value) : undefined;
  if (children === undefined) return false;
  if (levelsLeft === 0) return true;
  for (const child of children) if (nestsTooDeep(child, levelsLeft - 1)) return true;
  return false;
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** `version:createdAt:kind` (kind as I, M or R); entries of earlier releases have no kind. */
function recentEntryText(entry: Watermark['recent'][number]): string {
  return entry.kind === undefined ? `${entry.version}:${entry.createdAt}` : `${entry.version}:${entry.createdAt}:${KIND_CODES[entry.kind]}`;
}

const KIND_CODES: Readonly<Record<ChangeKind, string>> = { INSERT: 'I', MODIFY: 'M', REMOVE: 'R' };
const KINDS_BY_CODE: Readonly<Record<string, ChangeKind>> = { I: 'INSERT', M: 'MODIFY', R: 'REMOVE' };

function parseRecent(text: string | undefined): Watermark['recent'] {
  if (!text) return [];
  return text.split(',').map((entry) => {
    const [version, createdAt, code] = entry.split(':');
    const kind = code === undefined ? undefined : KINDS_BY_CODE[code];
    return kind === undefined ? { version: Number(version), createdAt: Number(createdAt) } : { version: Number(version), createdAt: Number(createdAt), kind };
  });
}

function optionalText(text: string): string | undefined {
  return text === '' ? undefined : text;
}

export function itemToParked(item: Item): ChangeRecord {
  const raw = unmarshall(item, EXACT_NUMBERS);
  if (raw.record_gzip instanceof Uint8Array) return JSON.parse(gunzipSync(raw.record_gzip).toString('utf8'), reviveImageValue) as ChangeRecord;
  return raw.record as ChangeRecord;
}
