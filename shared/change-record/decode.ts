import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ACCOUNTS_KEY, isValidVersion, type AccountImage } from '../accounts/account';
import type { BadRecord, BadRecordReason } from './bad-record';
import type { ChangeKind, ChangeRecord } from './change-record';
import type { KinesisRecordInput } from './kinesis-input';

export interface DecodeOptions {
  readonly tableName: string;
}

export type DecodeResult =
  | { readonly ok: true; readonly record: ChangeRecord }
  | { readonly ok: false; readonly bad: BadRecord };

/**
 * Whether `data`, which Node's decoder turned into `decodedBytes` bytes, is padded standard-alphabet base64. Node's
 * decoder silently skips junk (and reads the URL-safe alphabet too), so junk shows as fewer bytes than the text's
 * length promises. The same verdict as matching /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
 * (the unit tests hold it to that pattern), at a fraction of its price: that match took a microsecond per record.
 */
function isPaddedBase64(data: string, decodedBytes: number): boolean {
  const length = data.length;
  if (length % 4 !== 0) return false;
  if (length === 0) return true;
  const padding = data.charCodeAt(length - 1) !== EQUALS ? 0 : data.charCodeAt(length - 2) !== EQUALS ? 1 : 2;
  const firstEquals = data.indexOf('=');
  if (firstEquals !== -1 && firstEquals < length - padding) return false;
  if (data.indexOf('-') !== -1 || data.indexOf('_') !== -1) return false;
  return decodedBytes === (length / 4) * 3 - padding;
}
const EQUALS = 0x3d;
const EVENT_NAMES: readonly string[] = ['INSERT', 'MODIFY', 'REMOVE'] satisfies ChangeKind[];

class Rejection extends Error {
  constructor(readonly reason: BadRecordReason, detail: string) {
    super(detail);
  }
}

function reject(reason: BadRecordReason, detail: string): never {
  throw new Rejection(reason, detail);
}

/** What could be read so far, so that a rejection still says which account and version it concerns. */
interface Known {
  accountId?: string;
  version?: number;
  /** The payload's UTF-8 bytes (see `ChangeRecord.payloadBytes`). */
  payloadBytes?: number;
}

/** Decodes one record. Never throws: every failure, expected or not, becomes a `BadRecord` with its reason. */
export function decodeChangeRecord(input: KinesisRecordInput, options: DecodeOptions): DecodeResult {
  const known: Known = {};
  try {
    return { ok: true, record: decode(input, options, known) };
  } catch (error) {
    const rejection = error instanceof Rejection ? error : undefined;
    const bad: BadRecord = {
      reason: rejection?.reason ?? 'UNDECODABLE',
      detail: rejection?.message ?? `Unexpected failure while decoding: ${describeError(error)}.`,
      sequenceNumber: safeString(() => input.sequenceNumber),
      shardId: safeString(() => input.shardId),
      ...(known.accountId === undefined ? {} : { accountId: known.accountId }),
      ...(known.version === undefined ? {} : { version: known.version }),
      data: safeString(() => input.data),
    };
    return { ok: false, bad };
  }
}

function decode(input: KinesisRecordInput, options: DecodeOptions, known: Known): ChangeRecord {
  const payload = parsePayload(input.data, known);
  if (!isObject(payload)) reject('NOT_DYNAMODB_EVENT', `The payload is ${typeName(payload)}, not an object.`);
  if (payload.eventSource !== 'aws:dynamodb') {
    reject('NOT_DYNAMODB_EVENT', `The eventSource is ${show(payload.eventSource)}, not "aws:dynamodb".`);
  }
  const stream = payload.dynamodb;
  if (!isObject(stream)) reject('NOT_DYNAMODB_EVENT', 'The payload has no dynamodb section.');
  const eventId = payload.eventID;
  if (typeof eventId !== 'string' || eventId === '') reject('NOT_DYNAMODB_EVENT', 'The payload has no eventID.');
  if (payload.tableName !== options.tableName) {
    reject('WRONG_TABLE', `The change is from table ${show(payload.tableName)}, not "${options.tableName}".`);
  }

  const key = readAccountId(stream.Keys);
  if (key.accountId !== undefined) known.accountId = key.accountId;
  const kind = payload.eventName;
  if (typeof kind !== 'string' || !EVENT_NAMES.includes(kind)) {
    reject('UNKNOWN_EVENT_NAME', `The eventName ${show(kind)} is not INSERT, MODIFY or REMOVE.`);
  }
  const accountId = key.accountId ?? reject('MISSING_ACCOUNT_ID', key.problem);

  const images = readImages(kind as ChangeKind, stream, accountId, known);
  const { ApproximateCreationDateTime: created, ApproximateCreationDateTimePrecision: precision } = stream;
  const createdAtMicros = creationMicros(created, precision);
  const arrival = input.approximateArrivalTimestamp;
  const identity = payload.userIdentity;
  const byService = isObject(identity) && identity.type === 'Service';
  const removedByTtl = kind === 'REMOVE' && byService && identity.principalId === 'dynamodb.amazonaws.com';

  return {
    accountId,
    ...images,
    kind: kind as ChangeKind,
    createdAtMicros,
    eventId,
    sequenceNumber: input.sequenceNumber,
    shardId: input.shardId,
    payloadBytes: known.payloadBytes as number,
    ...(typeof arrival === 'number' && Number.isFinite(arrival) ? { arrivedAtMs: Math.round(arrival * 1000) } : {}),
    ...(removedByTtl ? { removedByTtl } : {}),
  };
}

/** Empty data is valid base64 (of zero bytes), so it is reported as NOT_JSON: zero bytes are not a JSON document. */
function parsePayload(data: unknown, known: Known): unknown {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'base64') : undefined;
  if (bytes === undefined || !isPaddedBase64(data as string, bytes.length)) {
    return reject('NOT_BASE64', 'The Kinesis data is not padded standard base64.');
  }
  let text: string;
  try {
    known.payloadBytes = bytes.length;
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return reject('NOT_JSON', 'The Kinesis data is not UTF-8 text.');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    return reject('NOT_JSON', `The Kinesis data is not JSON: ${describeError(error)}.`);
  }
}

function readAccountId(keys: unknown): { accountId?: string; problem: string } {
  if (!isObject(keys) || !Object.hasOwn(keys, ACCOUNTS_KEY)) return { problem: `Keys has no ${ACCOUNTS_KEY}.` };
  const problem = `Keys.${ACCOUNTS_KEY} is not a non-empty string (S) attribute.`;
  try {
    const value = toNative({ [ACCOUNTS_KEY]: keys[ACCOUNTS_KEY] })[ACCOUNTS_KEY];
    return typeof value === 'string' && value !== '' ? { accountId: value, problem } : { problem };
  } catch {
    return { problem };
  }
}

type Images = Pick<ChangeRecord, 'version' | 'previousVersion' | 'newImage' | 'oldImage'>;

function readImages(kind: ChangeKind, stream: Record<string, unknown>, accountId: string, known: Known): Images {
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

/**
 * Without a precision field (real captured records have none, and carry milliseconds) the unit is inferred from the
 * magnitude: between 1973 and 5138 the three units occupy disjoint ranges, so the inference cannot be wrong there.
 */
function creationMicros(value: unknown, precision: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    reject('BAD_CREATION_TIME', `ApproximateCreationDateTime ${show(value)} is not a positive number.`);
  }
  const inferred = value < 1e11 ? value * 1e6 : value < 1e14 ? value * 1000 : value;
  let micros: number;
  if (precision === 'MICROSECOND') micros = value;
  else if (precision === 'MILLISECOND') micros = value * 1000;
  else if (precision === undefined || precision === null) micros = inferred;
  else return reject('BAD_CREATION_TIME', `ApproximateCreationDateTimePrecision ${show(precision)} is unknown.`);
  // Rounded because a fractional seconds or milliseconds value does not scale to whole microseconds exactly.
  micros = Math.round(micros);
  if (!Number.isSafeInteger(micros)) reject('BAD_CREATION_TIME', `ApproximateCreationDateTime ${value} is too large.`);
  return micros;
}

/** Untrusted JSON goes straight to unmarshall, which throws on anything it cannot read; callers catch that. */
function toNative(map: Record<string, unknown>): Record<string, unknown> {
  return unmarshall(map as Record<string, AttributeValue>);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const typeName = (value: unknown) => (value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`);

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return typeName(value);
  }
}

function describeError(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    return 'an unprintable error';
  }
}

function safeString(read: () => unknown): string {
  try {
    const value = read();
    return typeof value === 'string' ? value : '';
  } catch {
    return '';
  }
}
