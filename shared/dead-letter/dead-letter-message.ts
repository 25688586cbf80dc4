import { gunzipSync, gzipSync } from 'node:zlib';
import type { BadRecord } from '../change-record/bad-record';
import type { DeadLetter } from '../ordering/ports';
import { sqsJson } from '../destination-plugin/sqs-text';
import { exactImageValue, reviveImageValue } from '../accounts/image-json';

/** Marks the body format so redrive tooling can refuse messages it does not understand. */
export const DEAD_LETTER_FORMAT = 'ordered-fanout.dead-letter/1';

/**
 * The body of one dead-letter message: the letter as JSON, with `at` also readable as a date, written as SQS takes it
 * (`sqsJson`: a record holding U+FFFE or U+FFFF is dead-lettered like any other and reads back the same), its images
 * exactly (`exactImageValue`: a bigint or a set would have thrown or come back as `{}`).
 */
export function encodeDeadLetter(letter: DeadLetter): string {
  const atIso = new Date(letter.at).toISOString();
  const body = sqsJson({ format: DEAD_LETTER_FORMAT, ...letter, atIso }, exactImageValue);
  if (Buffer.byteLength(body) <= COMPRESS_ABOVE_BYTES) return body;
  // A change of a big item (two images of up to 400 KB, base64 for a bad one, JSON escapes doubling quotes and making
  // six characters of a control character): its letter would pass SQS's 1 MiB and could not be stored, so the change
  // goes gzipped (`bad.dataGzip`, `recordGzip`), which `decodeDeadLetter` restores.
  const { record, bad, ...rest } = letter;
  const compressed: Record<string, unknown> = { format: DEAD_LETTER_FORMAT, ...rest, atIso };
  if (bad !== undefined) {
    const { data, ...badRest } = bad;
    compressed.bad = { ...badRest, dataGzip: gzipSync(Buffer.from(data, 'base64')).toString('base64') };
  }
  if (record !== undefined) compressed.recordGzip = gzipSync(JSON.stringify(record, exactImageValue)).toString('base64');
  return sqsJson(compressed, exactImageValue);
}

/** UTF-8 bytes of a letter above which its change is gzipped: SQS takes 1 MiB, attributes included. */
const COMPRESS_ABOVE_BYTES = 900 * 1024;

/** Reads a message body back into a letter; throws a `TypeError` naming what is wrong. */
export function decodeDeadLetter(body: string): DeadLetter {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body, reviveImageValue);
  } catch {
    throw new TypeError('dead-letter message body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw new TypeError('dead-letter message body is not an object');
  const { format, atIso: _atIso, ...letter } = parsed as Record<string, unknown>;
  if (format !== DEAD_LETTER_FORMAT) throw new TypeError(`unknown dead-letter format ${String(format)}`);
  for (const key of ['destination', 'epoch', 'reason', 'detail'] as const) {
    if (typeof letter[key] !== 'string') throw new TypeError(`dead-letter message has no ${key}`);
  }
  if (typeof letter.attempts !== 'number' || typeof letter.at !== 'number') {
    throw new TypeError('dead-letter message has no attempts or time');
  }
  const bad = letter.bad as Record<string, unknown> | undefined;
  if (bad !== undefined && typeof bad.dataGzip === 'string') {
    const { dataGzip, ...rest } = bad;
    let data: string;
    try {
      data = gunzipSync(Buffer.from(dataGzip as string, 'base64')).toString('base64');
    } catch {
      throw new TypeError("dead-letter message's bad.dataGzip is not gzipped data");
    }
    letter.bad = { ...rest, data };
  }
  if (typeof letter.recordGzip === 'string') {
    try {
      letter.record = JSON.parse(gunzipSync(Buffer.from(letter.recordGzip, 'base64')).toString('utf8'), reviveImageValue);
    } catch {
      throw new TypeError("dead-letter message's recordGzip is not a gzipped record");
    }
    delete letter.recordGzip;
  }
  return letter as unknown as DeadLetter;
}

/** The letter that quarantines a record that could not be decoded. */
export function badRecordLetter(bad: BadRecord, destination: string, epoch: string, at: number): DeadLetter {
  return {
    destination,
    epoch,
    reason: 'BAD_RECORD',
    detail: `${bad.reason}: ${bad.detail}`,
    attempts: 1,
    accountId: bad.accountId,
    version: bad.version,
    sequenceNumber: bad.sequenceNumber,
    shardId: bad.shardId,
    bad,
    at,
  };
}
