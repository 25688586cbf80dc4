import type { Delivery } from '../../shared/ordering/ports';
import { microsToIso } from '../audit/audit-object';

/**
 * The index mapping. `dynamic: false` keeps attributes the pipeline does not know in `_source` without indexing
 * them, so a new column in the Accounts table can never cause a mapping conflict.
 */
export const ACCOUNT_INDEX_MAPPING = {
  dynamic: false,
  properties: {
    account_id: { type: 'keyword' },
    balance: { type: 'long' },
    currency: { type: 'keyword' },
    status: { type: 'keyword' },
    version: { type: 'long' },
    opened_at: { type: 'date' },
    updated_at: { type: 'date' },
    changed_at: { type: 'date' },
    event_id: { type: 'keyword' },
    epoch: { type: 'keyword' },
    replay: { type: 'boolean' },
    last_change: {
      properties: {
        type: { type: 'keyword' },
        amount: { type: 'long' },
        reference: { type: 'keyword' },
        counterparty: { type: 'keyword' },
      },
    },
  },
} as const;

/**
 * Index settings. A delete with an external version leaves a tombstone that refuses older versions only for
 * `index.gc_deletes` (60 s by default); a day covers a late duplicate of a closed account's older version.
 */
export const ACCOUNT_INDEX_SETTINGS = { index: { gc_deletes: '1d' } } as const;

/** An account's current state as indexed: the item's new image plus when and how it was changed. */
export interface AccountDocument {
  readonly account_id: string;
  readonly balance: number;
  readonly version: number;
  readonly changed_at: string;
  readonly event_id: string;
  readonly epoch: string;
  readonly replay: boolean;
  readonly [attribute: string]: unknown;
}

/** The document for an INSERT or MODIFY; a REMOVE has none (it deletes the document). */
export function toAccountDocument({ record, replay, epoch }: Delivery): AccountDocument | undefined {
  if (record.newImage === undefined) return undefined;
  return {
    ...record.newImage,
    changed_at: microsToIso(record.createdAtMicros),
    event_id: record.eventId,
    epoch,
    replay,
  };
}
