import type { BadRecord } from './bad-record';
import type { ChangeKind, ChangeRecord } from './change-record';
import { readAccountId, readImages } from './decode-attributes';
import { describeError, isObject, reject, Rejection, show, typeName, type Known } from './decode-rejection';
import type { KinesisRecordInput } from './kinesis-input';

/*
 * The decoder's entry: one Kinesis record to a `ChangeRecord` or a `BadRecord`, reading the envelope (base64, JSON,
 * the stream event and its creation time) here and the attribute maps in `decode-attributes.ts`. Rejections and the
 * words they use are in `decode-rejection.ts`.
 */

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

function safeString(read: () => unknown): string {
  try {
    const value = read();
    return typeof value === 'string' ? value : '';
  } catch {
    return '';
  }
}
