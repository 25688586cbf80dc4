import type { BadRecord } from '../change-record/bad-record';
import type { DeadLetter } from '../ordering/ports';

/** Marks the body format so redrive tooling can refuse messages it does not understand. */
export const DEAD_LETTER_FORMAT = 'ordered-fanout.dead-letter/1';

/**
 * The body of one dead-letter message: the letter as JSON, with `at` also readable as a date. SQS refuses a body
 * holding a character outside XML's (#x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF) for good, and
 * DynamoDB strings may hold U+FFFE and U+FFFF, which `JSON.stringify` leaves as they are (control characters and lone
 * surrogates it escapes already): they are escaped too, so a record holding one is dead-lettered like any other and
 * reads back the same.
 */
export function encodeDeadLetter(letter: DeadLetter): string {
  return JSON.stringify({ format: DEAD_LETTER_FORMAT, ...letter, atIso: new Date(letter.at).toISOString() }).replace(NONCHARACTERS, escaped);
}

/**
 * `text` as SQS takes it in a message attribute (same character rule as the body): every character it refuses as a
 * `\uXXXX` escape. For filtering and reading only; the body holds the exact value.
 */
export function sqsAttributeText(text: string): string {
  return text.replace(REFUSED_BY_SQS, escaped);
}

const NONCHARACTERS = /[\uFFFE\uFFFF]/g;
// Lone surrogates included: the `u` flag matches a pair as one character, which SQS takes.
const REFUSED_BY_SQS = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function escaped(character: string): string {
  return `\\u${(character.codePointAt(0) as number).toString(16).padStart(4, '0')}`;
}

/** Reads a message body back into a letter; throws a `TypeError` naming what is wrong. */
export function decodeDeadLetter(body: string): DeadLetter {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
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
