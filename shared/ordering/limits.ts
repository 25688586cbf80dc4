/**
 * The bounds that keep one account's ledger item small whatever the stream does (a permanent gap, 100,000 parked
 * versions, a jump to 2^53, an operator skipping gaps all day). Each is enforced in one place, with what happens
 * beyond it; `test/unit/watermark-size.test.ts` proves the worst case stays under `MAX_WATERMARK_ITEM_BYTES`.
 */

/** The ceiling for one watermark item (DynamoDB allows 400 KB; one write unit is 1 KB). */
export const MAX_WATERMARK_ITEM_BYTES = 64 * 1024;

/**
 * Ranges per version set. Versions are kept as ranges, so only *holes* cost space: 100,000 parked versions behind
 * one gap are one range. Beyond the cap:
 * - `parked` (in-order): a record that would open another range is dead-lettered as PARK_LIMIT (redrivable);
 * - `ahead` (every-version): the account's holes are timed out at once (GAP_TIMEOUT), which folds `ahead` into the
 *   watermark; while the dead-letter queue cannot take that notice, the highest deliveries are forgotten instead (a
 *   copy of one is delivered again, and the destination refuses it as a duplicate);
 * - `owed`, `skipped`: the closest ranges merge, claiming a few more versions owed or skipped than there are: a late
 *   copy of one of those is then delivered again (refused by the destination as a duplicate) or dead-lettered as
 *   BEFORE_BASELINE, never dropped.
 */
export const MAX_RANGES = 200;

/** Heals remembered per account, so a real record that turns up later is checked against the heal. */
export const MAX_HEAL_MARKS = 32;

/**
 * Versions remembered with their change's creation time, so that a different change of a recently delivered version
 * (a version written twice) is told from a copy of it. Older versions fall back to the newest-creation-time rule.
 */
export const MAX_RECENT_DELIVERIES = 8;

/** Operator skips remembered per account (the ranges skipped are kept in `skipped` regardless). */
export const MAX_SKIP_NOTES = 16;

/** Characters of an operator's skip reason kept in the ledger. */
export const MAX_SKIP_REASON_LENGTH = 256;

/**
 * The last image is kept (as the old image of a heal) only up to this size; a bigger item cannot be healed and its
 * gaps wait for the real record.
 */
export const MAX_LAST_IMAGE_BYTES = 16 * 1024;

/**
 * The largest record parked as a ledger item of its own (DynamoDB allows 400 KB an item; its key and a few numbers
 * take the rest), as stored: gzipped when big (`parkedRecordForm`). A bigger one, which only an item of incompressible
 * data near DynamoDB's own limit makes (a change holds both images), is dead-lettered as PARK_LIMIT (redrivable):
 * writing it would fail every time, and block its shard.
 */
export const MAX_PARKED_RECORD_BYTES = 384 * 1024;

/**
 * Parked records one ledger write carries, in bytes: a DynamoDB transaction holds at most 4 MB of items, and the
 * watermark's item is one of them. What does not fit goes in the next write.
 */
export const MAX_PARKED_BYTES_PER_WRITE = 4_000_000 - MAX_WATERMARK_ITEM_BYTES - 64 * 1024;

/** Parked records read from the ledger at a time (one Query page), so draining a long run costs O(run), not O(all). */
export const PARKED_READ_LIMIT = 100;
