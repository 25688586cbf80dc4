import type { AccountImage } from '../accounts/account';
import type { ChangeRecord } from '../change-record/change-record';
import { canonical } from './change-digest';

/**
 * Rebuilds a missing change from its neighbours, but only when the chain of images proves it.
 *
 * The change to version m turned the image of m-1 into the image of m. The record of m+1 carries the image of m as
 * its old image (exact: it is what DynamoDB held), and the ledger holds the image of m-1 as delivered. That the
 * missing change started from *that* image is an assumption, which a write that did not raise the version would
 * break (the writer changed the item at m-1 and the stream quarantined the change). So the heal also needs proof
 * that image(m) follows from image(m-1) by the change image(m) says it is (`provesChange`). Without proof the
 * record parks and waits for the real change.
 *
 * For m = 1 there is no image before it: the change was the INSERT that created `next.oldImage`.
 * Only the event id and the exact creation time are lost: the id is synthesised, the time is the upper bound given
 * by the next change.
 */
export function healMissing(
  missing: number,
  previousImage: AccountImage | undefined,
  next: ChangeRecord,
): ChangeRecord | undefined {
  const image = next.oldImage;
  if (next.previousVersion !== missing || image === undefined || image.version !== missing) return undefined;
  if (missing === 1) {
    if (!openingIsPlausible(image)) return undefined;
    // Rare (an account whose opening went missing): the MODIFY's fields without an old image.
    const { oldImage: _none, ...opening } = healedModify(next, image, image);
    return { ...opening, kind: 'INSERT' };
  }
  if (previousImage === undefined || !provesChange(previousImage, image)) return undefined;
  return healedModify(next, image, previousImage);
}

/** The healed MODIFY as one literal: a spread of a shared base cost more than the proof, and heals follow every swap. */
function healedModify(next: ChangeRecord, image: AccountImage, previousImage: AccountImage): ChangeRecord {
  const missing = image.version;
  return {
    accountId: next.accountId,
    version: missing,
    previousVersion: missing - 1,
    newImage: image,
    oldImage: previousImage,
    kind: 'MODIFY',
    createdAtMicros: next.createdAtMicros,
    eventId: `${HEALED_EVENT_ID_PREFIX}${next.accountId}#${missing}`,
    sequenceNumber: next.sequenceNumber,
    shardId: next.shardId,
  };
}

/** Heals carry a synthesised event id; one that comes back (a redriven letter) is still a heal, not a change of its own. */
export const HEALED_EVENT_ID_PREFIX = 'healed:';

export function isHealedRecord(record: Pick<ChangeRecord, 'eventId'>): boolean {
  return record.eventId.startsWith(HEALED_EVENT_ID_PREFIX);
}

/** The attributes a write may change besides the ones `last_change` accounts for. */
const BOOKKEEPING = new Set(['version', 'updated_at', 'balance', 'status', 'last_change']);

/**
 * True when `image` follows from `previous` by exactly one write: the version is one higher, every attribute other
 * than the bookkeeping ones is unchanged, and the balance and status moved exactly as `last_change` says (a deposit
 * or incoming transfer adds its amount, a withdrawal or outgoing transfer subtracts it, a close changes only the
 * status). Without `last_change` only a write that changed nothing but `version` and `updated_at` is proven.
 */
export function provesChange(previous: AccountImage, image: AccountImage): boolean {
  if (image.version !== previous.version + 1) return false;
  if (!sameAttributes(previous, image, BOOKKEEPING)) return false;
  const change = image.last_change as { type?: unknown; amount?: unknown } | undefined;
  if (change === undefined) {
    return image.balance === previous.balance && image.status === previous.status && previous.last_change === undefined;
  }
  const amount = change.amount;
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) return false;
  const sameStatus = image.status === previous.status;
  switch (change.type) {
    case 'DEPOSIT':
    case 'TRANSFER_IN':
      return sameStatus && image.balance === previous.balance + amount;
    case 'WITHDRAWAL':
    case 'TRANSFER_OUT':
      return sameStatus && image.balance === previous.balance - amount;
    case 'CLOSED':
      return image.balance === previous.balance && image.status === 'CLOSED' && previous.status !== 'CLOSED';
    default:
      return false;
  }
}

/** Version 1 is an opening; an image of version 1 that says otherwise was changed without a new version. */
function openingIsPlausible(image: AccountImage): boolean {
  const change = image.last_change as { type?: unknown } | undefined;
  return change === undefined || change.type === 'OPENED';
}

/**
 * True when `a` and `b` have the same attributes apart from the `ignored` ones, with equal values: exactly when their
 * `canonical` texts without those attributes are equal, but without building the texts (a value that is not the
 * same primitive or object in both is compared by its text).
 */
export function sameAttributes(a: Record<string, unknown>, b: Record<string, unknown>, ignored: ReadonlySet<string>): boolean {
  let count = 0;
  for (const key in a) {
    const value = a[key];
    if (!Object.hasOwn(a, key) || value === undefined || ignored.has(key)) continue;
    const other = Object.hasOwn(b, key) ? b[key] : undefined;
    if (other === undefined || (value !== other && canonical(value) !== canonical(other))) return false;
    count += 1;
  }
  for (const key in b) if (Object.hasOwn(b, key) && b[key] !== undefined && !ignored.has(key)) count -= 1;
  return count === 0;
}
