import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';
import type { Delivery } from '../../shared/ordering/ports';
import { AUDIT_OBJECT_FORMAT } from './audit-object';

/*
 * What a create-only write's 412 found. The object at an account version's key is that version's change only if it
 * says so: the same account and version, and the same change (its kind and both images, what the engine identifies a
 * change by: `change-digest.ts`). The event id, creation time, `healed`, `replay` and the epoch are left out: a heal
 * and the real record of one change differ in them, and so do a live delivery and a replay of it.
 */

/** Undefined when `text` (the held object) records the change `delivery` would write; else what it holds instead. */
export function differenceFromHeld(text: string, { record }: Delivery): string | undefined {
  let held: unknown;
  try {
    held = JSON.parse(text);
  } catch {
    return `${preview(text)}, which is not an audit object (not JSON)`;
  }
  if (typeof held !== 'object' || held === null || Array.isArray(held) || (held as { format?: unknown }).format !== AUDIT_OBJECT_FORMAT) {
    return `${preview(text)}, which is not an audit object (no "format": "${AUDIT_OBJECT_FORMAT}")`;
  }
  const object = held as Record<string, unknown>;
  const named = `account ${JSON.stringify(object.accountId)} version ${JSON.stringify(object.version)} (${String(object.kind)}, event ${String(object.eventId)}${object.healed === true ? ', healed' : ''})`;
  const ours = `this change: ${record.kind}, event ${record.eventId}`;
  if (object.accountId !== record.accountId || object.version !== record.version) return `another account's version: ${named}; ${ours}`;
  if (object.kind !== record.kind) return `a different change: ${named}; ${ours}`;
  if (!sameValue(object.oldImage, record.oldImage ?? null)) return `a different change (old image differs): ${named}; ${ours}`;
  if (!sameValue(object.newImage, record.newImage ?? null)) return `a different change (new image differs): ${named}; ${ours}`;
  return undefined;
}

/**
 * Whether `held` (parsed from an audit object) is how the adapter writes `ours` (an image value as decoded):
 * `readableImageValue` made a bigint or another number beyond 2^53 its text, and a set an array, in whatever order
 * the set had then (a DynamoDB set has none), so a set compares as its members, in any order.
 */
function sameValue(held: unknown, ours: unknown): boolean {
  if (ours === undefined || ours === null) return held === null || held === undefined;
  if (typeof ours === 'bigint' || ours instanceof NumberValue) return held === ours.toString();
  if (ours instanceof Set) {
    if (!Array.isArray(held) || held.length !== ours.size) return false;
    const left = held.map((member) => JSON.stringify(member)).sort();
    const right = [...ours].map((member) => JSON.stringify(normalised(member))).sort();
    return left.every((member, index) => member === right[index]);
  }
  if (Array.isArray(ours)) {
    return Array.isArray(held) && held.length === ours.length && ours.every((value, index) => sameValue(held[index], value));
  }
  if (typeof ours === 'object') {
    // Anything else JSON writes by its own rules (a Uint8Array, say): compare what JSON made of it.
    if (Object.getPrototypeOf(ours) !== Object.prototype && Object.getPrototypeOf(ours) !== null) {
      return JSON.stringify(held) === JSON.stringify(normalised(ours));
    }
    if (typeof held !== 'object' || held === null || Array.isArray(held)) return false;
    const mine = Object.entries(ours as Record<string, unknown>).filter(([, value]) => value !== undefined);
    const theirs = held as Record<string, unknown>;
    if (Object.keys(theirs).length !== mine.length) return false;
    return mine.every(([key, value]) => Object.hasOwn(theirs, key) && sameValue(theirs[key], value));
  }
  if (typeof ours === 'number') return Number.isFinite(ours) ? held === ours : held === null;
  return held === ours;
}

/** A value as it reads back from the JSON the adapter wrote. */
function normalised(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, inner: unknown) =>
      typeof inner === 'bigint' || inner instanceof NumberValue ? inner.toString() : inner instanceof Set ? [...inner] : inner,
    ) ?? 'null',
  );
}

function preview(text: string): string {
  const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return JSON.stringify(shown);
}
