import type { BadRecordReason } from './bad-record';

/*
 * How the decoder refuses a record: the rejection it throws, what it has read so far (so the bad record still names
 * its account and version), and the type checks and descriptions of untrusted values its messages are made of. Its own
 * file because the envelope (`decode.ts`) and the attribute maps (`decode-attributes.ts`) both reject this way.
 */

export class Rejection extends Error {
  constructor(readonly reason: BadRecordReason, detail: string) {
    super(detail);
  }
}

export function reject(reason: BadRecordReason, detail: string): never {
  throw new Rejection(reason, detail);
}

/** What could be read so far, so that a rejection still says which account and version it concerns. */
export interface Known {
  accountId?: string;
  version?: number;
  /** The payload's UTF-8 bytes (see `ChangeRecord.payloadBytes`). */
  payloadBytes?: number;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const typeName = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`);

/** Characters of an offending value a rejection's detail shows: the record itself is in the letter, whole. */
const SHOWN_CHARS = 200;

/**
 * An offending value as a rejection's detail shows it: its JSON, cut to 200 characters. Whole, a 300 KB value made a
 * letter of about three times that (the detail is in it twice, beside the record's data), over SQS's 1 MiB, and a log
 * line over CloudWatch's 256 KB.
 */
export function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    return typeName(value);
  }
  return text.length <= SHOWN_CHARS ? text : `${text.slice(0, SHOWN_CHARS)}… (${text.length} characters)`;
}

export function describeError(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    return 'an unprintable error';
  }
}
