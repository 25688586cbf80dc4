import type { ChangeRecord } from '../change-record/change-record';
import type { Epoch, InOrderCommit } from './delivery-mode';
import type { Tally } from './outcome';
import type { DeadLetter, Delivery, DeliveryResult, Ledger } from './ports';

/*
 * What the engine hands every account run of one call (a batch, a sweep, a resume): the ports, the epoch, the clock,
 * the deadline and the coalesced destination and queue. Apart from the run itself (account-run.ts), so the engine,
 * which builds it, and the letters (run-letters.ts), which read it, need no run.
 */

/** What every account run shares within one engine call. */
export interface RunContext {
  readonly destination: string;
  readonly ledger: Ledger;
  readonly epoch: Epoch;
  readonly owner: string;
  readonly now: () => number;
  readonly claimTtlMs: number;
  readonly maxGapAgeMs: number;
  /** No new delivery is claimed when less than `reserveMs` is left before the deadline. */
  readonly deadline: number | undefined;
  /** Time kept free before a deadline (the invocation's or a claim's) so a delivery can still be committed. */
  readonly reserveMs: number;
  /** In-order: commit after every version, or once per account per batch. */
  readonly inOrderCommit: InOrderCommit;
  /** `latest-state`: the destination refuses stale versions itself; the ledger is neither read nor written. */
  readonly destinationEnforced: boolean;
  /** In-order: how long after its read a home lane may deliver without a claim. */
  readonly homeBoundMs: number;
  /** When the batch's watermarks were read (taken just before the read). */
  readonly readAt: number;
  readonly tally: Tally;
  /** A fresh fencing token for a claim. */
  newClaimToken(): string;
  /** One delivery; `deadline` bounds the destination call (an in-order claim's end). */
  deliver(delivery: Delivery, deadline?: number): Promise<DeliveryResult>;
  /** Several deliveries of one account, in the same destination call (in order: see `Destination`). */
  deliverAll(deliveries: readonly Delivery[], deadline?: number): Promise<DeliveryResult[]>;
  /** Resolves true when the queue stored the letter. */
  deadLetter(letter: DeadLetter): Promise<boolean>;
}

/** Shared empty lists: a default argument literal is a new array on every call. */
export const NO_RECORDS: readonly ChangeRecord[] = Object.freeze([]);
export const NO_VERSION_LIST: readonly number[] = Object.freeze([]);

