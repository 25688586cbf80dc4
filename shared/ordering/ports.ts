import type { BadRecord } from '../change-record/bad-record';
import type { ChangeRecord } from '../change-record/change-record';
import type { DeliveryMode } from './delivery-mode';
import type { VersionRanges } from './version-ranges';
import type { Watermark } from './watermark';

/** One change handed to a destination. */
export interface Delivery {
  readonly record: ChangeRecord;
  /** Rebuilt from its neighbours' images because its own record was missing. */
  readonly healed: boolean;
  /** Delivered under a replay epoch. */
  readonly replay: boolean;
  readonly epoch: string;
}

export type DeliveryResult =
  | { readonly status: 'delivered' }
  /** The destination already held this version (a create-only write that found the object). */
  | { readonly status: 'duplicate' }
  /** The destination holds a newer version and refused this one (external versioning). */
  | { readonly status: 'stale' }
  | {
      readonly status: 'failed';
      /** DELIVERY_FAILED: retries exhausted. REJECTED: a permanent refusal (mapping, schema, access). */
      readonly reason: 'DELIVERY_FAILED' | 'REJECTED';
      readonly detail: string;
      /**
       * Requests made for this delivery. 0 means nothing was sent (no time was left, or an earlier version of the
       * account failed first): not a failed delivery, so the engine hands the record back to Lambda rather than
       * dead-lettering it.
       */
      readonly attempts: number;
    };

/** A failure with nothing sent: the record is retried (reported failed), never dead-lettered. */
export function notSent(result: DeliveryResult): boolean {
  return result.status === 'failed' && result.attempts === 0;
}

export interface DeliverOptions {
  /**
   * Milliseconds since the epoch by which the call must have answered, every retry and every request in flight
   * included: an `in-order` delivery must end before its account's claim does, or another engine could deliver the
   * account at the same time. What is not done by then answers `failed` (DELIVERY_FAILED).
   */
  readonly deadline?: number;
}

/**
 * A destination adapter. It retries what is worth retrying within its own budget and the call's deadline, and then
 * answers per delivery, in order; it throws only for the unexpected, which fails the whole batch.
 */
export interface Destination {
  readonly name: string;
  readonly mode: DeliveryMode;
  deliver(deliveries: readonly Delivery[], options?: DeliverOptions): Promise<readonly DeliveryResult[]>;
}

/**
 * Why a letter is in the dead-letter queue. Every one can be redriven through the engine (see `fanout redrive`):
 * - DELIVERY_FAILED, REJECTED: the destination did not take the change (down too long; refused it);
 * - GAP_TIMEOUT: a notice that versions never arrived within the maximum gap age (no record; the waiting records stay
 *   parked in the ledger): redriving it resumes the account if the versions have come since;
 * - BAD_RECORD: the stream record could not be decoded, or a single record broke the version contract;
 * - CONTRACT_BREACH: the account's history shows the record breaks the contract (a version written twice, a change
 *   after a deletion that is not a re-creation);
 * - HEAL_MISMATCH: the real record of a healed version differs from the heal;
 * - BEFORE_BASELINE: an `in-order` record of a version the account's start or an operator's skip passed over;
 * - PARK_LIMIT: an `in-order` record that would have made the account's parked versions too fragmented to keep, or
 *   is too big to be a parked ledger item (`MAX_PARKED_RECORD_BYTES`).
 */
export type DeadLetterReason =
  | 'DELIVERY_FAILED'
  | 'REJECTED'
  | 'GAP_TIMEOUT'
  | 'BAD_RECORD'
  | 'CONTRACT_BREACH'
  | 'HEAL_MISMATCH'
  | 'BEFORE_BASELINE'
  | 'PARK_LIMIT';

export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = [
  'DELIVERY_FAILED',
  'REJECTED',
  'GAP_TIMEOUT',
  'BAD_RECORD',
  'CONTRACT_BREACH',
  'HEAL_MISMATCH',
  'BEFORE_BASELINE',
  'PARK_LIMIT',
];

export interface DeadLetter {
  readonly destination: string;
  readonly epoch: string;
  readonly reason: DeadLetterReason;
  readonly detail: string;
  readonly attempts: number;
  readonly accountId?: string;
  readonly version?: number;
  readonly sequenceNumber?: string;
  readonly shardId?: string;
  /** The whole change, when there is one, so it can be redriven. */
  readonly record?: ChangeRecord;
  /** The undecodable input, for BAD_RECORD. */
  readonly bad?: BadRecord;
  /** For a GAP_TIMEOUT: the versions that never arrived, as ranges (`[[3, 4]]`: versions 3 and 4). */
  readonly missing?: VersionRanges;
  /** For an in-order GAP_TIMEOUT: how many records wait, parked, behind the gap. */
  readonly waiting?: number;
  readonly at: number;
}

/** A destination's dead-letter queue. Answers per letter whether it was stored; throws when unreachable. */
export interface DeadLetterQueue {
  send(letters: readonly DeadLetter[]): Promise<readonly boolean[]>;
}

/**
 * A conditional write of one account's watermark, with the parked records it adds and removes. All of it happens or
 * none of it: a parked record is in the table exactly while the watermark lists it.
 */
export interface LedgerWrite {
  /** The revision read; `0` means the watermark item must not exist yet. */
  readonly expectedRevision: number;
  readonly next: Watermark;
  readonly park: readonly ChangeRecord[];
  /** Versions whose parked records leave the table (delivered or dead-lettered). */
  readonly unpark: readonly number[];
  /** The claim token this write requires the stored watermark to still hold (a fenced commit). */
  readonly fence?: string;
}

/** Items one ledger write may touch: the watermark plus parked records (DynamoDB's transaction limit). */
export const MAX_LEDGER_WRITE_ITEMS = 100;

export interface WaitingAccount {
  readonly accountId: string;
  /** Milliseconds since the epoch: when the account began waiting for its missing version. */
  readonly since: number;
}

export type LedgerWriteResult = 'committed' | 'conflict';

/**
 * The ledger of one destination in one epoch. Implementations: `DynamoDBLedger` and `InMemoryLedger`.
 * Failures to reach the store are thrown as `LedgerUnavailableError`.
 */
export interface Ledger {
  readonly destination: string;
  readonly epoch: string;
  /** Consistent reads of many accounts' watermarks; accounts without one are absent from the map. */
  load(accountIds: readonly string[]): Promise<Map<string, Watermark>>;
  /** The account's parked records with versions in `from..to`, in version order, at most `limit` of them. */
  parked(accountId: string, from: number, to: number, limit: number): Promise<ChangeRecord[]>;
  write(write: LedgerWrite): Promise<LedgerWriteResult>;
  /**
   * Accounts waiting for a missing version, oldest wait first, with when their wait began (ms); with `after`, only
   * those the index holds after that account's entry (a sweep's saved position: see `sweepPosition`).
   */
  waiting(after?: WaitingAccount): AsyncIterable<WaitingAccount>;
  /** Where the last sweep that ran out of time stopped (`saveSweepPosition`), or undefined: start with the oldest. */
  sweepPosition(): Promise<WaitingAccount | undefined>;
  /** Keeps `position` (undefined: none) for the next sweep to go on from. */
  saveSweepPosition(position: WaitingAccount | undefined): Promise<void>;
}
