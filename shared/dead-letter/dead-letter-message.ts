import type { BadRecord } from '../change-record/bad-record';
import type { DeadLetter } from '../ordering/ports';
import { sqsAttributeText, sqsJson } from '../destination-plugin/sqs-text';
import { exactImageValue, reviveImageValue } from '../accounts/image-json';

/** Marks the body format so redrive tooling can refuse messages it does not understand. */
export const DEAD_LETTER_FORMAT = 'ordered-fanout.dead-letter/1';

/**
 * The body of one dead-letter message: the letter as JSON, with `at` also readable as a date, written as SQS takes it
 * (`sqsJson`: a record holding U+FFFE or U+FFFF is dead-lettered like any other and reads back the same), its images
 * exactly (`exactImageValue`: a bigint or a set would have thrown or come back as `{}`).
 */
export function encodeDeadLetter(letter: DeadLetter): string {
  return sqsJson({ format: DEAD_LETTER_FORMAT, ...letter, atIso: new Date(letter.at).toISOString() }, exactImageValue);
}

export { sqsAttributeText };

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
