import { createHash } from 'node:crypto';

/*
 * An account id inside a key that a service bounds in bytes: the ledger's partition key (DynamoDB allows 2,048 bytes)
 * and the audit log's object key and metadata (S3: 1,024 bytes of key, 2 KB of metadata). The Accounts table takes
 * any account id up to 2,048 bytes, so a key that adds anything to it can overflow, and a key that overflows is
 * refused on every attempt: the record would fail until Lambda gave up on its batch. One rule shortens such a part,
 * the same way for every key.
 */

/** Hex characters of the SHA-256 that ends a shortened part: 128 bits. */
export const KEY_DIGEST_CHARS = 32;
const MARK = '~';

/** What a shortened part ends with (a part that fits may end so too, if its text does). */
export const SHORTENED_KEY_PART = new RegExp(`${MARK}[0-9a-f]{${KEY_DIGEST_CHARS}}$`);

/**
 * `text` when its UTF-8 encoding has at most `maxBytes` bytes. Otherwise its longest start (whole code points) that
 * leaves room for `~` and the first 32 hex characters of the SHA-256 of the whole text, followed by them: at most
 * `maxBytes` bytes. The same text always gives the same part (a key found again is the same key); a part that fits is
 * never changed (keys written before stay valid); two shortened texts differ in their digest. A text that fits and
 * happens to end like a shortened one could only be made on purpose, by whoever writes account ids.
 */
export function boundedKeyPart(text: string, maxBytes: number): string {
  // Most parts are far shorter than their bound: no UTF-8 length to measure (a UTF-16 unit is at most 3 bytes).
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  return digestedKeyPart(text, maxBytes);
}

/**
 * The shortened form `boundedKeyPart` gives, whether or not `text` would fit: for a key whose plain form some texts
 * may not take at all (SQS's message group and deduplication ids allow printable ASCII only), so that the part of such
 * a text always differs from the part of any other.
 */
export function digestedKeyPart(text: string, maxBytes: number): string {
  const room = maxBytes - MARK.length - KEY_DIGEST_CHARS;
  if (room < 0) throw new RangeError(`a key part of at most ${maxBytes} bytes has no room for its ${KEY_DIGEST_CHARS}-character digest`);
  let kept = 0;
  let bytes = 0;
  for (const codePoint of text) {
    const size = Buffer.byteLength(codePoint, 'utf8');
    if (bytes + size > room) break;
    bytes += size;
    kept += codePoint.length;
  }
  return `${text.slice(0, kept)}${MARK}${createHash('sha256').update(text, 'utf8').digest('hex').slice(0, KEY_DIGEST_CHARS)}`;
}
