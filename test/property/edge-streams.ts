import type { AccountImage } from '../../shared/accounts/account';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { prng } from '../../local/prng';
import { shipWith } from './stream-model';

/**
 * Account histories for the edge paths, built like `test/support/histories.ts` (each image carries `updated_at` and
 * `last_change` as the writer library writes them) but with the ways upstream goes wrong: versions that never reach
 * the stream, writes that change an item without raising its version (quarantined upstream, so only the next
 * record's old image shows them), and an item deleted and re-created at an old version. Then `ship` puts them on a
 * stream as Kinesis-for-DynamoDB may: duplicated, in any order, in batches of any size, on any shard.
 */

/** Microseconds between an account's consecutive changes. */
export const STEP_MICROS = 10_000;
export const BASE_MICROS = 1_795_392_000_000_000;

/** A write that changed the item after version v without raising the version (the stream quarantined it). */
export type Overwrite = 'silent' | 'disguised';

export interface HistoryOptions {
  /** Version v is created at startMicros + v × STEP_MICROS (a multiple of 1,000: updated_at is exact). */
  readonly startMicros?: number;
  readonly endsWithRemove?: boolean;
  /**
   * After version v's write, another write changed the item without raising the version: `silent` changes the
   * balance and leaves `last_change` as it was (no image chain can prove it); `disguised` is a writer that read
   * version v-1 and wrote a different change as version v again (its image follows from v-1 by its `last_change`).
   */
  readonly overwrites?: ReadonlyMap<number, Overwrite>;
  /** Distinguishes event ids and sequence numbers of a second life of the same account. */
  readonly tag?: string;
}

export interface History {
  readonly records: ChangeRecord[];
  /** Version → the image the item held at that version after a non-bumping write. */
  readonly overwritten: Map<number, AccountImage>;
}

export function history(accountId: string, length: number, options: HistoryOptions = {}): History {
  const records: ChangeRecord[] = [];
  const overwritten = new Map<number, AccountImage>();
  const start = options.startMicros ?? BASE_MICROS;
  const tag = options.tag ?? '';
  let image: AccountImage | undefined;
  for (let version = 1; version <= length; version += 1) {
    const createdAtMicros = start + version * STEP_MICROS;
    const base = {
      accountId,
      version,
      previousVersion: version - 1,
      createdAtMicros,
      eventId: `${accountId}${tag}-event-${version}`,
      sequenceNumber: `${accountId}${tag}-seq-${version}`,
      shardId: 'shardId-000000000000',
    };
    if (version === length && options.endsWithRemove && image) {
      records.push({ ...base, kind: 'REMOVE', oldImage: image });
      break;
    }
    const delta = image === undefined ? 0 : ((version * 37) % 11) - 5;
    const next = imageAt(accountId, version, image === undefined ? 1000 : image.balance + delta, createdAtMicros, delta, image === undefined);
    records.push(image === undefined ? { ...base, kind: 'INSERT', newImage: next } : { ...base, kind: 'MODIFY', oldImage: image, newImage: next });
    const overwrite = options.overwrites?.get(version);
    const before = image;
    image = next;
    if (overwrite !== undefined && version < length) {
      const at = createdAtMicros + STEP_MICROS / 2;
      const amount = Math.abs(delta) + 1 + (version % 3);
      image =
        overwrite === 'silent' || before === undefined
          ? { ...next, balance: next.balance + amount, updated_at: iso(at) }
          : { ...imageAt(accountId, version, before.balance + amount, at, amount, false) };
      overwritten.set(version, image);
    }
  }
  return { records, overwritten };
}

function imageAt(accountId: string, version: number, balance: number, micros: number, delta: number, opening: boolean): AccountImage {
  return {
    account_id: accountId,
    balance,
    currency: 'AUD',
    status: 'OPEN',
    version,
    updated_at: iso(micros),
    last_change: opening ? { type: 'OPENED', amount: 0 } : delta >= 0 ? { type: 'DEPOSIT', amount: delta } : { type: 'WITHDRAWAL', amount: -delta },
  };
}

function iso(micros: number): string {
  return new Date(Math.floor(micros / 1000)).toISOString();
}

/**
 * An item deleted (tombstone at firstLength + 1) and later created again at version `recreateAt` (at most the
 * tombstone's version breaks the contract; tombstone + 1 keeps it), living on for `secondLength` versions.
 */
export function recreatedHistory(accountId: string, firstLength: number, recreateAt: number, secondLength: number): { first: ChangeRecord[]; second: ChangeRecord[] } {
  const first = history(accountId, firstLength + 1, { endsWithRemove: true }).records;
  const tombstoneAt = (first.at(-1) as ChangeRecord).createdAtMicros;
  const shift = recreateAt - 1;
  const second = history(accountId, secondLength, { startMicros: tombstoneAt + 1_000_000, tag: '-life2' }).records.map((record) => {
    const version = record.version + shift;
    const renumber = (image: AccountImage | undefined): AccountImage | undefined => (image ? { ...image, version: image.version + shift } : undefined);
    const oldImage = renumber(record.oldImage);
    const newImage = renumber(record.newImage);
    return {
      ...record,
      version,
      previousVersion: record.previousVersion + shift,
      eventId: `${accountId}-life2-event-${version}`,
      sequenceNumber: `${accountId}-life2-seq-${version}`,
      ...(oldImage ? { oldImage } : {}),
      ...(newImage ? { newImage } : {}),
    };
  });
  return { first, second };
}

/** Version runs `[from, to]` that never reach the stream: never the last version, at least one sent between runs. */
export function missingRuns(length: number, gapRate: number, maxRun: number, random: () => number): [number, number][] {
  const runs: [number, number][] = [];
  for (let version = 1; version < length; ) {
    if (random() >= gapRate) {
      version += 1;
      continue;
    }
    const to = Math.min(length - 1, version + Math.floor(random() * maxRun));
    runs.push([version, to]);
    version = to + 2;
  }
  return runs;
}

export interface ShipShape {
  readonly seed: number;
  /** Chance that a record is put on the stream again (up to 3 extra copies). */
  readonly duplicateRate: number;
  readonly shards: number;
  readonly maxBatchSize: number;
}

/** The records on a stream as `buildStream` puts them (see `shipWith`), with a seed of their own. */
export function ship(records: readonly ChangeRecord[], shape: ShipShape): ChangeRecord[][][] {
  return shipWith(records, shape, prng(shape.seed ^ 0x2545f491));
}

/** The time of the change a record is, as the replay window reads it: its new image's updated_at, else its creation. */
export function changeTime(record: ChangeRecord): number {
  const text = record.newImage?.updated_at;
  return typeof text === 'string' ? Date.parse(text) * 1000 : record.createdAtMicros;
}
