import type { Delivery } from '../../shared/ordering/ports';
import { microsToIso } from '../audit/audit-object';

/**
 * Where a document keeps the table attributes whose names OpenSearch would refuse, or read as something else, at its
 * root: a name that starts with `_` (OpenSearch's metadata fields are `_id`, `_source`, `_version`, ... and refused in a
 * document with 400 mapper_parsing_exception whatever the mapping; AppSync/Amplify conflict detection adds `_version`
 * to every item), and a name with a dot (`balance.note` stands for the object path balance → note, a mapping conflict
 * with the long `balance`; `.a` or `a..b` is refused as ambiguous) or of whitespace only. The Accounts table takes any
 * such name, and each would make every version of the account REJECTED.
 */
export const TABLE_ATTRIBUTES = 'table_attributes';

/** Whether OpenSearch would refuse `name` at a document's root or read it as other than one field of that name. */
function isUnsafeRootName(name: string): boolean {
  return name.startsWith('_') || name.includes('.') || name.trim() === '';
}

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
    // Table attributes whose names OpenSearch cannot take at a document's root (see `toAccountDocument`): kept in
    // `_source` as they are, never parsed (so no name inside can be refused).
    [TABLE_ATTRIBUTES]: { type: 'object', enabled: false },
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
  let image: NonNullable<typeof record.newImage> = record.newImage;
  const unsafe = Object.keys(image).filter(isUnsafeRootName);
  if (unsafe.length > 0) {
    const moved: Record<string, unknown> = {};
    const kept: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(image)) {
      // An attribute that is itself named like the holder goes into it too, so that nothing is overwritten.
      if (isUnsafeRootName(name) || name === TABLE_ATTRIBUTES) moved[name] = value;
      else kept[name] = value;
    }
    image = { ...kept, [TABLE_ATTRIBUTES]: moved } as unknown as typeof image;
  }
  return {
    ...image,
    changed_at: microsToIso(record.createdAtMicros),
    event_id: record.eventId,
    epoch,
    replay,
  };
}
