import type { AccountImage } from '../../shared/accounts/account';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { nextAccountImage } from '../../local/account-images';

/**
 * A complete, contract-abiding history of one account: version 1 is the INSERT, each later version a MODIFY whose
 * old image is the previous new image, optionally ending in a REMOVE tombstone.
 */
export function accountHistory(
  accountId: string,
  length: number,
  options: { endsWithRemove?: boolean; shardId?: string; startMicros?: number } = {},
): ChangeRecord[] {
  const records: ChangeRecord[] = [];
  let image: AccountImage | undefined;
  const start = options.startMicros ?? 1_795_392_000_000_000;
  for (let version = 1; version <= length; version += 1) {
    const base = {
      accountId,
      version,
      previousVersion: version - 1,
      createdAtMicros: start + version * 1_000,
      eventId: `${accountId}-event-${version}`,
      sequenceNumber: `${accountId}-seq-${version}`,
      shardId: options.shardId ?? 'shardId-000000000000',
    };
    if (version === length && options.endsWithRemove && image) {
      records.push({ ...base, kind: 'REMOVE', oldImage: image });
      break;
    }
    const next = nextAccountImage(accountId, version, image, base.createdAtMicros);
    records.push(image === undefined ? { ...base, kind: 'INSERT', newImage: next } : { ...base, kind: 'MODIFY', oldImage: image, newImage: next });
    image = next;
  }
  return records;
}

let copies = 0;
/** Another copy of the same change, as Kinesis delivers a duplicate: same event id, new sequence number. */
export function duplicateOf(record: ChangeRecord): ChangeRecord {
  copies += 1;
  return { ...record, sequenceNumber: `${record.sequenceNumber}-copy-${copies}` };
}

/** The records of the given versions, in the order given: how a test writes a batch. */
export function pick(history: readonly ChangeRecord[], ...versions: number[]): ChangeRecord[] {
  return versions.map((version) => history[version - 1] as ChangeRecord);
}

