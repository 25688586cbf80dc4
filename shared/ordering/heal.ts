import type { AccountImage } from '../accounts/account';
import type { ChangeRecord } from '../change-record/change-record';

/**
 * Rebuilds a missing change from its neighbours when exactly one version is missing.
 *
 * The change to version m turned the image of m-1 into the image of m. The ledger holds the image of m-1 (the last
 * delivered new image) and the record of m+1 carries the image of m as its old image, so the missing change is
 * known exactly. For m = 1 there is no image before it: the change was the INSERT that created `next.oldImage`.
 * Only the event id and the exact creation time are lost: the id is synthesised, the time is the upper bound given
 * by the next change.
 *
 * Returns undefined when the neighbours do not fit together, so a wrong heal is never delivered.
 */
export function healMissing(
  missing: number,
  previousImage: AccountImage | undefined,
  next: ChangeRecord,
): ChangeRecord | undefined {
  const image = next.oldImage;
  if (next.previousVersion !== missing || image === undefined || image.version !== missing) return undefined;
  const base = {
    accountId: next.accountId,
    version: missing,
    previousVersion: missing - 1,
    newImage: image,
    createdAtMicros: next.createdAtMicros,
    eventId: `healed:${next.accountId}#${missing}`,
    sequenceNumber: next.sequenceNumber,
    shardId: next.shardId,
  };
  if (missing === 1) return { ...base, kind: 'INSERT' };
  if (previousImage?.version !== missing - 1) return undefined;
  return { ...base, kind: 'MODIFY', oldImage: previousImage };
}
