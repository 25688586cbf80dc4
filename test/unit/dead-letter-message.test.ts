import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeDeadLetter, encodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
import { sqsAttributeText } from '../../shared/destination-plugin/sqs-text';
import type { DeadLetter } from '../../shared/ordering/ports';

/** What SQS accepts in a message body and in a string attribute's value (XML's characters). */
const SQS_TEXT = /^[\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

const letterWith = (detail: string, accountId: string): DeadLetter => ({
  destination: 'fraud',
  epoch: 'live',
  reason: 'REJECTED',
  detail,
  attempts: 1,
  accountId,
  version: 3,
  sequenceNumber: '1',
  shardId: 'shardId-000000000000',
  at: 1_700_000_000_000,
});

describe('dead-letter messages hold only characters SQS takes', () => {
  test('any text, U+FFFE, U+FFFF, control characters and lone surrogates included: the body is SQS text and reads back the same', () => {
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('\uFFFE', '\uFFFF', '\u0000', '\uD800', '\uDFFF', 'a', '\u{1F600}') }));
    fc.assert(
      fc.property(text, text, (detail, accountId) => {
        const letter = letterWith(detail, accountId);
        const body = encodeDeadLetter(letter);
        expect(body).toMatch(SQS_TEXT);
        expect(decodeDeadLetter(body)).toEqual(letter);
        expect(sqsAttributeText(accountId)).toMatch(SQS_TEXT);
      }),
      { numRuns: 2000 },
    );
  });

  test('an attribute keeps what SQS takes as it is and writes the rest as \\u escapes', () => {
    expect(sqsAttributeText('ACC-1 é \u{1F600}')).toBe('ACC-1 é \u{1F600}');
    expect(sqsAttributeText('ACC-\uFFFE\u0001\uD800')).toBe('ACC-\\ufffe\\u0001\\ud800');
  });
});
