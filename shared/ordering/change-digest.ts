import { hash } from 'node:crypto';
import type { ChangeRecord } from '../change-record/change-record';
import { sortFew } from './sort-few';

/*
 * What identifies a change's content: its kind and both images, in one canonical form (`canonical`). A heal is
 * remembered by the digest of that form (`HealMark.digest`, stored in the ledger), and the real record of the version,
 * when it comes, is checked against it (`isDigestOf`). Separate from the heal's proof (heal.ts): this is the identity
 * of a change, stored, so its format is a contract with every ledger written before.
 */

type Change = Pick<ChangeRecord, 'kind' | 'oldImage' | 'newImage'>;

/** Marks the digests `changeDigest` makes; a digest without it is a SHA-256 of an earlier release (`legacyChangeDigest`). */
export const CHANGE_DIGEST_PREFIX = 'v2:';

/**
 * The digest of a change as heals are remembered by: `v2:` and 16 hex digits, a 64-bit hash of the change's
 * `canonical` text, fed to the hash as the text is walked rather than built. Not a cryptographic hash, and it need not
 * be: it tells a heal from a different real change of the same version (a writer's accident, 2^-64 to pass unnoticed),
 * and whoever could forge one could write the table itself. It replaced a SHA-256 of the built text, which cost each
 * heal about 15-25 µs on a busy function (the text, and a call into OpenSSL whose state was cold by then: see the README,
 * *Where the time goes*).
 */
export function changeDigest(change: Change): string {
  const digest = new TextHash();
  hashCanonical(identity(change), digest);
  return CHANGE_DIGEST_PREFIX + digest.hex();
}

/** Whether `digest` (as a heal mark holds it, from this release or an earlier one) is the digest of `change`. */
export function isDigestOf(digest: string, change: Change): boolean {
  return digest.startsWith(CHANGE_DIGEST_PREFIX) ? changeDigest(change) === digest : legacyChangeDigest(change) === digest;
}

/**
 * The digest earlier releases stored: the first 16 characters of the base64url SHA-256 of the change's `canonical`
 * text. Still checked, for the heal marks a ledger holds from before (at most `MAX_HEAL_MARKS` per account).
 */
export function legacyChangeDigest(change: Change): string {
  return hash('sha256', canonical(identity(change)), 'base64url').slice(0, 16);
}

/** What the digest covers, as `canonical` sees it: absent images as null. */
function identity(change: Change): { kind: string; oldImage: unknown; newImage: unknown } {
  return { kind: change.kind, oldImage: change.oldImage ?? null, newImage: change.newImage ?? null };
}

/**
 * JSON with object keys sorted at every level, so equal values give equal text. Built in one pass (no entry arrays,
 * no joins), with `JSON.stringify` only for text that needs escaping. Its text is the identity of a change (digests in
 * the ledger hash it), so it must never change: the unit tests pin it to `JSON.stringify` of a key-sorted copy, and
 * `hashCanonical` to it.
 */
export function canonical(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quoted(value);
    case 'number':
      // The same text `JSON.stringify` gives a number: its shortest form, and null for NaN and the infinities.
      return Number.isFinite(value) ? `${value}` : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      // An integer beyond 2^53 (unmarshalled as bigint): its digits, the number's JSON text (JSON.stringify throws).
      return value.toString();
    case 'object':
      break;
    default:
      return JSON.stringify(value) ?? 'null';
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    let text = '[';
    for (let index = 0; index < value.length; index += 1) text += (index === 0 ? '' : ',') + canonical(value[index]);
    return `${text}]`;
  }
  if (value instanceof Set) return canonical([...value].sort());
  const object = value as Record<string, unknown>;
  const keys = sortFew(Object.keys(object));
  let text = '{';
  for (let index = 0; index < keys.length; index += 1) {
    const key = keys[index] as string;
    const item = object[key];
    if (item === undefined) continue;
    text += (text.length === 1 ? '' : ',') + quoted(key) + ':' + canonical(item);
  }
  return `${text}}`;
}

/**
 * Feeds `canonical(value)` to `digest` without building it: the same walk, piece by piece. The unit tests hold the two
 * to the same text for any value (`TextHash` of the built text equals this).
 */
export function hashCanonical(value: unknown, digest: TextHash): void {
  switch (typeof value) {
    case 'string':
      hashQuoted(value, digest);
      return;
    case 'number':
      digest.text(Number.isFinite(value) ? `${value}` : 'null');
      return;
    case 'boolean':
      digest.text(value ? 'true' : 'false');
      return;
    case 'bigint':
      digest.text(value.toString());
      return;
    case 'object':
      break;
    default:
      digest.text(JSON.stringify(value) ?? 'null');
      return;
  }
  if (value === null) {
    digest.text('null');
    return;
  }
  if (Array.isArray(value)) {
    digest.unit(OPEN_LIST);
    for (let index = 0; index < value.length; index += 1) {
      if (index > 0) digest.unit(COMMA);
      hashCanonical(value[index], digest);
    }
    digest.unit(CLOSE_LIST);
    return;
  }
  if (value instanceof Set) {
    hashCanonical([...value].sort(), digest);
    return;
  }
  const object = value as Record<string, unknown>;
  const keys = sortFew(Object.keys(object));
  let first = true;
  digest.unit(OPEN_OBJECT);
  for (let index = 0; index < keys.length; index += 1) {
    const key = keys[index] as string;
    const item = object[key];
    if (item === undefined) continue;
    if (!first) digest.unit(COMMA);
    first = false;
    hashQuoted(key, digest);
    digest.unit(COLON);
    hashCanonical(item, digest);
  }
  digest.unit(CLOSE_OBJECT);
}

const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COMMA = 0x2c;
const COLON = 0x3a;
const QUOTE = 0x22;

/** `JSON.stringify` of a string: quotes around it when no character in it needs escaping (attribute names, most values). */
function quoted(text: string): string {
  return plain(text) ? `"${text}"` : JSON.stringify(text);
}

function hashQuoted(text: string, digest: TextHash): void {
  if (!plain(text)) {
    digest.text(JSON.stringify(text));
    return;
  }
  digest.unit(QUOTE);
  digest.text(text);
  digest.unit(QUOTE);
}

/** Text `JSON.stringify` quotes as it is: short, printable ASCII without quotes or backslashes (longer text it is given). */
function plain(text: string): boolean {
  if (text.length > 64) return false;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || code > 0x7e || code === QUOTE || code === 0x5c) return false;
  }
  return true;
}

/**
 * A 64-bit hash of a text fed in pieces (UTF-16 code units): two 32-bit multiply-xor lanes with cyrb53's constants and
 * final mix. Fast and well spread; not cryptographic (see `changeDigest`).
 */
export class TextHash {
  private h1 = 0xdeadbeef;
  private h2 = 0x41c6ce57;

  text(text: string): void {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let index = 0; index < text.length; index += 1) {
      const code = text.charCodeAt(index);
      h1 = Math.imul(h1 ^ code, 2654435761);
      h2 = Math.imul(h2 ^ code, 1597334677);
    }
    this.h1 = h1;
    this.h2 = h2;
  }

  unit(code: number): void {
    this.h1 = Math.imul(this.h1 ^ code, 2654435761);
    this.h2 = Math.imul(this.h2 ^ code, 1597334677);
  }

  /** The hash as 16 hex digits. */
  hex(): string {
    let h1 = Math.imul(this.h1 ^ (this.h1 >>> 16), 2246822507);
    h1 ^= Math.imul(this.h2 ^ (this.h2 >>> 13), 3266489909);
    let h2 = Math.imul(this.h2 ^ (this.h2 >>> 16), 2246822507);
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
  }
}
