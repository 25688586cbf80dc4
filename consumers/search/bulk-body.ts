import { boundedKeyPart } from '../../shared/accounts/account-key';
import { readableImageValue } from '../../shared/accounts/image-json';
import type { Delivery } from '../../shared/ordering/ports';
import { toAccountDocument } from './account-document';

/**
 * The `_bulk` body, built here rather than by the client so that its size is known exactly before it is sent: the
 * body is the concatenation of each delivery's NDJSON lines (action line, then the document for an index), every line
 * ending in `\n`, and a request's size is the sum of its entries' UTF-8 bytes.
 */

/**
 * OpenSearch refuses an index request whose `_id` is longer (DocWriteRequest#validateDocIdLength), and in a `_bulk` it
 * refuses the whole request for it (BulkRequest#validate: 400 action_request_validation_exception), not the item.
 */
export const MAX_ID_BYTES = 512;

/**
 * An account's document id: the account id, or for one over 512 bytes (the Accounts table takes up to 2,048) its start
 * and a digest of the whole id (`boundedKeyPart`), so that such an account is indexed rather than refused on every
 * version. The document's `account_id` holds the whole id; deletes and reads use the same id.
 */
export function documentId(accountId: string): string {
  return boundedKeyPart(accountId, MAX_ID_BYTES);
}

/**
 * Amazon OpenSearch Service refuses a request body over 10 MiB on small instance types (413, `http.max_content_length`;
 * 100 MiB on larger ones). 5 MiB stays well under it with room for a misjudged instance type, and is within the
 * 5-15 MiB AWS suggests for `_bulk` requests.
 */
export const DEFAULT_MAX_BULK_BYTES = 5 * 1024 * 1024;

export type BulkEntry<T> =
  | { readonly kind: 'entry'; readonly item: T; readonly text: string; readonly bytes: number }
  /** Refused before sending: no request could ever carry it. */
  | { readonly kind: 'refused'; readonly item: T; readonly detail: string };

/** One delivery's NDJSON lines, or why it cannot be sent at all. */
export function bulkEntry<T extends { readonly delivery: Delivery }>(item: T, index: string, maxBytes: number): BulkEntry<T> {
  const { accountId, version } = item.delivery.record;
  const document = toAccountDocument(item.delivery);
  const target = { _index: index, _id: documentId(accountId), version, version_type: 'external' };
  const action = JSON.stringify(document === undefined ? { delete: target } : { index: target });
  const text = document === undefined ? `${action}\n` : `${action}\n${JSON.stringify(document, readableImageValue)}\n`;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    return {
      kind: 'refused',
      item,
      detail: `document of ${bytes} bytes (with its action line) exceeds the _bulk request limit of ${maxBytes} bytes, so no request can carry it`,
    };
  }
  return { kind: 'entry', item, text, bytes };
}
