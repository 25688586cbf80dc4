import { NumberValueImpl as NumberValue } from '@aws-sdk/util-dynamodb';

/*
 * Account images as JSON. DynamoDB items may hold what JSON has no form for: integers beyond 2^53 (unmarshalled as
 * bigint, on which `JSON.stringify` throws), other numbers beyond it (a `NumberValue`, written as `{"value": ...}`) and
 * sets (SS, NS, BS: a `Set`, which it writes as `{}`). Two forms, each a `JSON.stringify` replacer: one for readers
 * (audit objects, search documents, plug-in messages), one exact, for dead letters that `fanout redrive` rebuilds
 * records from. And one way to read numbers (`EXACT_NUMBERS`) for every item the project reads.
 */

const BIGINT = '@@bigint';
const SET = '@@set';
const NUMBER = '@@number';

/** For readers: a bigint or another number beyond 2^53 as its exact text in a string, a set as an array of its members. */
export function readableImageValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint' || value instanceof NumberValue) return value.toString();
  if (value instanceof Set) return [...value];
  return value;
}

/**
 * Exact: a bigint as `{"@@bigint": "<digits>"}`, another number beyond 2^53 as `{"@@number": "<text>"}`, a set as
 * `{"@@set": [...]}`, which `reviveImageValue` reads back. A map attribute of an item that has exactly one of those
 * keys, and nothing else, would be read back as one too.
 */
export function exactImageValue(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return { [BIGINT]: value.toString() };
  if (value instanceof NumberValue) return { [NUMBER]: value.toString() };
  if (value instanceof Set) return { [SET]: [...value] };
  return value;
}

/** The `JSON.parse` reviver of `exactImageValue`. */
export function reviveImageValue(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (keys.length !== 1) return value;
  const inner = (value as Record<string, unknown>)[keys[0] as string];
  if (keys[0] === BIGINT && typeof inner === 'string' && /^-?\d+$/.test(inner)) return BigInt(inner);
  if (keys[0] === SET && Array.isArray(inner)) return new Set(inner);
  if (keys[0] === NUMBER && typeof inner === 'string' && Number.isFinite(Number(inner))) return NumberValue.from(inner);
  return value;
}

/**
 * A DynamoDB number as the SDK gives it (a number, or a bigint for an integer beyond 2^53), except one beyond 2^53
 * that is not an integer (`1E+30`, `12345678901234567890.5`, valid DynamoDB numbers): the SDK throws on those, which
 * made every change of an item holding one a bad record. It stays exact as a `NumberValue`, which marshalling writes
 * back as the same N.
 */
function exactNumber(text: string): number | bigint | NumberValue {
  const value = Number(text);
  if (!(value > Number.MAX_SAFE_INTEGER || value < Number.MIN_SAFE_INTEGER) || !Number.isFinite(value)) return value;
  try {
    return BigInt(text);
  } catch {
    return NumberValue.from(text);
  }
}

/** `unmarshall`'s options for every item this project reads: the decoder's images, the ledger's, the Accounts table's. */
export const EXACT_NUMBERS = { wrapNumbers: exactNumber };
