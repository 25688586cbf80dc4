/*
 * SQS's character rule, for every message this project sends (dead letters, the ledger-queue plug-in): a body or
 * attribute holding a character outside XML's (#x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF) is refused
 * for good (`InvalidMessageContents`), whatever else it holds. DynamoDB strings may hold U+FFFE and U+FFFF.
 */

/**
 * `value` as JSON that SQS takes as a body: `JSON.stringify` escapes control characters and lone surrogates already,
 * and leaves U+FFFE and U+FFFF as they are, so those are escaped too. It reads back to the same value.
 */
export function sqsJson(value: unknown, replacer?: (key: string, value: unknown) => unknown): string {
  return JSON.stringify(value, replacer).replace(NONCHARACTERS, escaped);
}

/**
 * `text` as SQS takes it in a message attribute: every character it refuses as a `\uXXXX` escape. For filtering and
 * reading only; the body holds the exact value.
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
