import type { AccountImage } from '../../shared/accounts/account';
import type { Delivery } from '../../shared/ordering/ports';

/** Marks the body format, so the ledger service can tell versions of it apart. */
export const LEDGER_QUEUE_FORMAT = 'ordered-fanout.ledger-queue/1';

/** The body of one message: one account version, sent in version order within the account's message group. */
export interface LedgerQueueMessage {
  readonly format: typeof LEDGER_QUEUE_FORMAT;
  /** `<account>#<version>`: also the MessageDeduplicationId, so receivers can drop copies SQS let through. */
  readonly eventId: string;
  readonly accountId: string;
  readonly version: number;
  readonly previousVersion: number;
  readonly kind: 'INSERT' | 'MODIFY' | 'REMOVE';
  /** The item after the change; null for a deletion. */
  readonly newImage: AccountImage | null;
  readonly createdAtMicros: number;
  /** Rebuilt from its neighbours because its own stream record never arrived. */
  readonly healed: boolean;
  /** Sent by a replay, not by live traffic. */
  readonly replay: boolean;
  readonly epoch: string;
}

/** MessageDeduplicationId (and eventId): at most 128 characters, so a long account id keeps its tail, not its head. */
export function deduplicationId(accountId: string, version: number): string {
  return `${accountId}#${version}`.slice(-128);
}

export function toLedgerQueueMessage({ record, healed, replay, epoch }: Delivery): LedgerQueueMessage {
  return {
    format: LEDGER_QUEUE_FORMAT,
    eventId: deduplicationId(record.accountId, record.version),
    accountId: record.accountId,
    version: record.version,
    previousVersion: record.previousVersion,
    kind: record.kind,
    newImage: record.newImage ?? null,
    createdAtMicros: record.createdAtMicros,
    healed,
    replay,
    epoch,
  };
}
