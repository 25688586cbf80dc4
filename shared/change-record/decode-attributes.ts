import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { EXACT_NUMBERS } from '../accounts/image-json';
import { ACCOUNTS_KEY, isValidVersion, type AccountImage } from '../accounts/account';
import type { BadRecordReason } from './bad-record';
import type { ChangeKind, ChangeRecord } from './change-record';
import { describeError, isObject, reject, show, typeName, type Known } from './decode-rejection';

/*
 * The DynamoDB attribute maps inside a change: the key's account id, and the images with their versions, checked
 * against the key and against each other. Apart from `decode.ts`, which reads the envelope around them, because this
 * is where the account's own rules (versions, balance, status) are enforced.
 */

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * DynamoDB's longest partition key value, in UTF-8 bytes: no Accounts item has a longer id. A longer one (bad input of
 * up to Kinesis's 1 MiB) was copied into the bad record's account, its detail and its letter's attribute, several
 * times over: the letter passed SQS's 1 MiB and could not be stored, so the record failed on every retry.
 */
const MAX_KEY_BYTES = 2048;

export function readAccountId(keys: unknown): { accountId?: string; problem: string } {
  if (!isObject(keys) || !Object.hasOwn(keys, ACCOUNTS_KEY)) return { problem: `Keys has no ${ACCOUNTS_KEY}.` };
  const problem = `Keys.${ACCOUNTS_KEY} is not a non-empty string (S) attribute.`;
  try {
    const value = toNative({ [ACCOUNTS_KEY]: keys[ACCOUNTS_KEY] })[ACCOUNTS_KEY];
    // DynamoDB strings are UTF-8: a lone surrogate (a JSON escape no table wrote) could be no key of any store either.
    if (typeof value === 'string' && LONE_SURROGATE.test(value)) return { problem: `Keys.${ACCOUNTS_KEY} is not well-formed Unicode (a lone surrogate).` };
    if (typeof value === 'string' && isLongerThanAnyKey(value)) return { problem: `Keys.${ACCOUNTS_KEY} is longer than DynamoDB's ${MAX_KEY_BYTES} bytes for a key.` };
    return typeof value === 'string' && value !== '' ? { accountId: value, problem } : { problem };
  } catch {
    return { problem };
  }
}

/** A UTF-16 unit is at most 3 UTF-8 bytes: most ids are measured without encoding them. */
function isLongerThanAnyKey(value: string): boolean {
  return value.length * 3 > MAX_KEY_BYTES && Buffer.byteLength(value, 'utf8') > MAX_KEY_BYTES;
}

type Images = Pick<ChangeRecord, 'version' | 'previousVersion' | 'newImage' | 'oldImage'>;

export function readImages(kind: ChangeKind, stream: Record<string, unknown>, accountId: string, known: Known): Images {
  const { NewImage: rawNew, OldImage: rawOld } = stream;
  // Learn the version before any rejection so that a quarantined record still says which version it was.
  const peek = (raw: unknown) => (isObject(raw) ? readVersion(raw).version : undefined);
  const peeked = kind === 'REMOVE' ? plusOne(peek(rawOld)) : peek(rawNew);
  if (peeked !== undefined) known.version = peeked;

  if (kind === 'REMOVE') {
    if (rawOld === undefined) reject('REMOVE_WITHOUT_OLD_IMAGE', 'A REMOVE without OldImage has no version to follow.');
    const oldImage = readImage(rawOld, 'OldImage', accountId);
    const version = plusOne(oldImage.version) ?? reject('VERSION_NOT_INTEGER', 'The tombstone version is not safe.');
    return { version, previousVersion: oldImage.version, oldImage };
  }
  if (rawNew === undefined) reject('MISSING_NEW_IMAGE', `An ${kind} without NewImage carries no account state.`);
  if (kind === 'INSERT') {
    // A restore may re-insert an item with its old version, so only version >= 1 is required here.
    const newImage = readImage(rawNew, 'NewImage', accountId);
    return { version: newImage.version, previousVersion: newImage.version - 1, newImage };
  }
  // Kinesis Data Streams for DynamoDB always sends both images, so a MODIFY without one is malformed.
  if (rawOld === undefined) reject('MISSING_OLD_IMAGE', 'A MODIFY without OldImage cannot be checked against it.');
  const newImage = readImage(rawNew, 'NewImage', accountId);
  const oldImage = readImage(rawOld, 'OldImage', accountId);
  const [from, to] = [oldImage.version, newImage.version];
  if (to <= from) reject('VERSION_NOT_INCREASING', `A MODIFY went from version ${from} to ${to}.`);
  // Every write adds exactly 1: a jump is a writer bug, and delivering it would hide a gap from every consumer.
  if (to !== from + 1) reject('VERSION_JUMP', `A MODIFY went from version ${from} to ${to}, not ${from + 1}.`);
  return { version: to, previousVersion: from, newImage, oldImage };
}

function plusOne(version: number | undefined): number | undefined {
  return version !== undefined && isValidVersion(version + 1) ? version + 1 : undefined;
}

type VersionRead = { version: number } | { version?: undefined; reason: BadRecordReason; problem: string };

/**
 * The version is unmarshalled on its own so that a failure (unmarshall throws for a fractional number beyond the
 * safe range, and returns a bigint for a large integer) is blamed on the version rather than on the whole image.
 */
function readVersion(raw: Record<string, unknown>): VersionRead {
  if (!Object.hasOwn(raw, 'version') || raw.version === undefined) {
    return { reason: 'VERSION_MISSING', problem: 'has no version' };
  }
  let value: unknown;
  try {
    value = toNative({ version: raw.version }).version;
  } catch (error) {
    const problem = `has a version ${show(raw.version)} that cannot be read (${describeError(error)})`;
    return { reason: 'VERSION_NOT_INTEGER', problem };
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    return { reason: 'VERSION_NOT_INTEGER', problem: `has a version ${show(raw.version)} that is not a safe integer (N)` };
  }
  if (!isValidVersion(value)) return { reason: 'VERSION_NOT_POSITIVE', problem: `has a version ${value}, below 1` };
  return { version: value };
}

function readImage(raw: unknown, which: 'NewImage' | 'OldImage', accountId: string): AccountImage {
  if (!isObject(raw)) reject('NOT_AN_ACCOUNT', `${which} is ${typeName(raw)}, not an attribute map.`);
  // The common case is one unmarshalling of the whole map. What that cannot read, or a version it reads as something
  // else than a valid one, is read again the careful way (the version on its own), which names what is wrong.
  const whole = unmarshalledOrUndefined(raw);
  const read = whole?.version;
  const version: VersionRead = isValidVersion(read) ? { version: read } : readVersion(raw);
  const item = whole ?? withoutVersion(raw, which);
  if (item[ACCOUNTS_KEY] !== accountId) {
    reject('NOT_AN_ACCOUNT', `${which} has ${ACCOUNTS_KEY} ${show(item[ACCOUNTS_KEY])}, not the key "${accountId}".`);
  }
  if (typeof item.balance !== 'number' || !Number.isSafeInteger(item.balance)) {
    reject('NOT_AN_ACCOUNT', `${which} has no integer balance (got ${show(item.balance)}).`);
  }
  if (item.status !== undefined && item.status !== 'OPEN' && item.status !== 'CLOSED') {
    reject('NOT_AN_ACCOUNT', `${which} has status ${show(item.status)}, not OPEN or CLOSED.`);
  }
  if (version.version === undefined) reject(version.reason, `${which} ${version.problem}.`);
  return withVersionLast(item, version.version);
}

function unmarshalledOrUndefined(raw: Record<string, unknown>): Record<string, unknown> | undefined {
  try {
    return toNative(raw);
  } catch {
    return undefined;
  }
}

/** Every attribute but the version, unmarshalled: a map that did not unmarshall whole says here what is wrong with it. */
function withoutVersion(raw: Record<string, unknown>, which: 'NewImage' | 'OldImage'): Record<string, unknown> {
  try {
    return toNative(allButVersion(raw));
  } catch (error) {
    return reject('NOT_AN_ACCOUNT', `${which} cannot be unmarshalled: ${describeError(error)}.`);
  }
}

/** The image with `version` as its last attribute, where images have always had it (an object, not a spread and a delete). */
function withVersionLast(item: Record<string, unknown>, version: number): AccountImage {
  const image = allButVersion(item);
  image.version = version;
  return image as AccountImage;
}

/** A copy of `map` without its `version` attribute: built key by key, as a `delete` would leave a slow object. */
function allButVersion(map: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(map)) if (key !== 'version') copy[key] = map[key];
  return copy;
}

/** Untrusted JSON goes straight to unmarshall, which throws on anything it cannot read; callers catch that. */
function toNative(map: Record<string, unknown>): Record<string, unknown> {
  return unmarshall(map as Record<string, AttributeValue>, EXACT_NUMBERS);
}
