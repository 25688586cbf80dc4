/**
 * Splits entries, in order, into chunks of at most `maxItems` entries and `maxBytes` bytes (by each entry's `bytes`):
 * the shape of every batched API's limits (SQS `SendMessageBatch`, OpenSearch `_bulk`). An entry larger than
 * `maxBytes` gets a chunk of its own: refusing it is the caller's decision, made before.
 */
export function chunkBySize<E extends { readonly bytes: number }>(entries: readonly E[], maxItems: number, maxBytes: number): E[][] {
  const chunks: E[][] = [];
  let current: E[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (current.length > 0 && (current.length >= maxItems || bytes + entry.bytes > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += entry.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
