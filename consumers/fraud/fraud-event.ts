import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { Delivery } from '../../shared/ordering/ports';
import { microsToIso } from '../audit/audit-object';
import { sqsJson } from '../../shared/destination-plugin/sqs-text';

export type FraudDetailType = 'AccountOpened' | 'BalanceChanged' | 'AccountClosed';

/** The `detail` of every fraud event. Amounts are integers in minor units; `amount` is `newBalance - oldBalance`. */
export interface FraudEventDetail {
  /** `<account>#<version>`: the same for every copy of this change, so receivers can drop duplicates. */
  readonly eventId: string;
  readonly accountId: string;
  readonly version: number;
  readonly previousVersion: number;
  readonly oldBalance: number | null;
  readonly newBalance: number | null;
  readonly amount: number;
  readonly currency: string | null;
  /** What the write did (`DEPOSIT`, `TRANSFER_OUT`, ...) when the item says so. */
  readonly changeType: string | null;
  readonly reference: string | null;
  readonly counterparty: string | null;
  /** When DynamoDB made the change, ISO 8601 with microseconds. */
  readonly occurredAt: string;
  /** Rebuilt from its neighbours because its own stream record never arrived. */
  readonly healed: boolean;
  /** Sent by a replay, not by live traffic: rules should keep it away from live actions. */
  readonly replay: boolean;
  readonly epoch: string;
  /**
   * The text fields cut to `MAX_DETAIL_TEXT_CHARS` (only when one was): an item's text is the table's to choose, and an
   * entry over EventBridge's 256 KB is refused for good, which would block an `in-order` account.
   */
  readonly truncated?: readonly ('currency' | 'changeType' | 'reference' | 'counterparty')[];
}

/** Characters of an item's text field an event carries (a longer one keeps its start and an ellipsis). */
export const MAX_DETAIL_TEXT_CHARS = 1024;

export function fraudEventId(accountId: string, version: number): string {
  return `${accountId}#${version}`;
}

export function detailTypeOf(record: ChangeRecord): FraudDetailType {
  if (record.kind === 'INSERT') return 'AccountOpened';
  if (record.kind === 'REMOVE') return 'AccountClosed';
  const closedNow = record.newImage?.status === 'CLOSED' && record.oldImage?.status !== 'CLOSED';
  return closedNow || record.newImage?.last_change?.type === 'CLOSED' ? 'AccountClosed' : 'BalanceChanged';
}

export function toFraudEventDetail({ record, healed, replay, epoch }: Delivery): FraudEventDetail {
  const truncated: NonNullable<FraudEventDetail['truncated']>[number][] = [];
  const text = (field: (typeof truncated)[number], value: string | null): string | null => {
    if (value === null || value.length <= MAX_DETAIL_TEXT_CHARS) return value;
    truncated.push(field);
    return `${value.slice(0, MAX_DETAIL_TEXT_CHARS)}…`;
  };
  const oldBalance = record.oldImage?.balance ?? null;
  const newBalance = record.newImage?.balance ?? null;
  const image = record.newImage ?? record.oldImage;
  const change = record.newImage?.last_change;
  return {
    eventId: fraudEventId(record.accountId, record.version),
    accountId: record.accountId,
    version: record.version,
    previousVersion: record.previousVersion,
    oldBalance,
    newBalance,
    amount: (newBalance ?? 0) - (oldBalance ?? 0),
    currency: text('currency', typeof image?.currency === 'string' ? image.currency : null),
    changeType: text('changeType', change?.type ?? (record.kind === 'REMOVE' ? 'REMOVED' : null)),
    reference: text('reference', change?.reference ?? null),
    counterparty: text('counterparty', change?.counterparty ?? null),
    occurredAt: microsToIso(record.createdAtMicros),
    healed,
    replay,
    epoch,
    // Last: the fields above are cut as they are built, left to right.
    ...(truncated.length > 0 ? { truncated } : {}),
  };
}

export function toPutEventsEntry(delivery: Delivery, eventBusName: string, source: string): PutEventsRequestEntry {
  const { record } = delivery;
  return {
    EventBusName: eventBusName,
    Source: source,
    DetailType: detailTypeOf(record),
    // As SQS takes it (U+FFFE and U+FFFF escaped, the same JSON value): a rule may target a queue, which refuses them.
    Detail: sqsJson(toFraudEventDetail(delivery)),
    Time: new Date(Math.floor(record.createdAtMicros / 1000)),
    Resources: [],
  };
}
