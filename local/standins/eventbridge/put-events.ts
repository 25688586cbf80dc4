/**
 * PutEvents of the EventBridge stand-in: whole-call validation, then per-entry outcomes in request order.
 *
 * Whole call (nothing stored): an injected call fault (decided first, as throttling and authorization are decided at
 * the front door), then `Entries` missing, empty or over 10 -> ValidationException, summed entry size over the limit
 * -> ValidationException "Total size of the entries in the request is over the limit.", members of the wrong JSON
 * type -> SerializationException.
 *
 * Per entry (the others still accepted): Source / DetailType / Detail missing or empty -> InvalidArgument; Detail not
 * a JSON object -> MalformedDetail; Source starting with `aws.` -> NotAuthorizedForSourceException; unknown bus ->
 * silently dropped (or ResourceNotFoundException, see `UnknownBusMode`); then `rejectEntry`; then
 * `entryFailureRate`. Failed and dropped entries are not stored.
 */
import { randomUUID } from 'node:crypto';
import { busNameOf, DEFAULT_BUS, type BusRegistry } from './buses';
import { AwsError, isRecord, optionalString, validationError } from './protocol';
import type { CallError, EntryFault, EventBridgeFaults, ReceivedEvent, UnknownBusMode } from './types';

export const MAX_ENTRIES = 10;
export const DEFAULT_MAX_REQUEST_ENTRY_BYTES = 256 * 1024;
/** What AWS counts for a Time member, whatever its value. */
const TIME_BYTES = 14;

export interface PutEventsContext {
  readonly buses: BusRegistry;
  readonly faults: EventBridgeFaults;
  readonly random: () => number;
  readonly unknownBus: UnknownBusMode;
  readonly maxRequestEntryBytes: number;
}

/** An accepted entry, before the server stamps arrival time and call number on it. */
export type AcceptedEvent = Omit<ReceivedEvent, 'receivedAt' | 'call'>;

export interface PutEventsOutcome {
  readonly response: { FailedEntryCount: number; Entries: Record<string, string>[] };
  readonly accepted: AcceptedEvent[];
  readonly failed: number;
  readonly dropped: number;
}

const CALL_ERRORS: Record<CallError, { status: number; message: string }> = {
  ThrottlingException: { status: 400, message: 'Rate exceeded' },
  InternalException: { status: 500, message: 'An internal error occurred. Please retry your request.' },
  AccessDeniedException: {
    status: 400,
    message: 'User: arn:aws:iam::000000000000:user/local is not authorized to perform: events:PutEvents',
  },
};

/** The injected whole-call fault for this call, if `throttleRate` or `callFailureRate` picks it. Draws only when set. */
export function injectedCallFault(faults: EventBridgeFaults, random: () => number): AwsError | undefined {
  const picks = (rate: number | undefined): boolean => (rate ?? 0) > 0 && random() < (rate as number);
  const code: CallError | undefined = picks(faults.throttleRate)
    ? 'ThrottlingException'
    : picks(faults.callFailureRate)
      ? (faults.callError ?? 'ThrottlingException')
      : undefined;
  if (code === undefined) return undefined;
  const { status, message } = CALL_ERRORS[code];
  return new AwsError(code, message, status);
}

interface RequestEntry {
  readonly source: string | undefined;
  readonly detailType: string | undefined;
  readonly detail: string | undefined;
  readonly resources: string[];
  readonly time: string | undefined;
  readonly eventBusName: string | undefined;
  readonly traceHeader: string | undefined;
}

export function putEvents(input: Record<string, unknown>, context: PutEventsContext): PutEventsOutcome {
  const entries = readEntries(input);
  const size = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
  if (size > context.maxRequestEntryBytes) throw validationError('Total size of the entries in the request is over the limit.');

  const results: Record<string, string>[] = [];
  const accepted: AcceptedEvent[] = [];
  let failed = 0;
  let dropped = 0;
  for (const entry of entries) {
    const outcome = decide(entry, context);
    if ('errorCode' in outcome) {
      failed += 1;
      results.push({ ErrorCode: outcome.errorCode, ErrorMessage: outcome.errorMessage });
      continue;
    }
    const eventId = randomUUID();
    results.push({ EventId: eventId });
    if (outcome.store) accepted.push({ eventId, ...outcome.event });
    else dropped += 1;
  }
  return { response: { FailedEntryCount: failed, Entries: results }, accepted, failed, dropped };
}

type Decision = EntryFault | { store: true; event: Omit<AcceptedEvent, 'eventId'> } | { store: false };

function decide(entry: RequestEntry, context: PutEventsContext): Decision {
  const { source, detailType, detail: rawDetail } = entry;
  if (!source) return required('Source');
  if (!detailType) return required('DetailType');
  if (!rawDetail) return required('Detail');
  const detail = parseDetail(rawDetail);
  if (detail === undefined) return { errorCode: 'MalformedDetail', errorMessage: 'Detail is malformed.' };
  if (source.startsWith('aws.')) {
    return { errorCode: 'NotAuthorizedForSourceException', errorMessage: 'Not authorized for the source.' };
  }
  const eventBusName = busNameOf(entry.eventBusName ?? DEFAULT_BUS);
  if (!context.buses.has(eventBusName)) {
    if (context.unknownBus === 'drop') return { store: false };
    return { errorCode: 'ResourceNotFoundException', errorMessage: `Event bus ${eventBusName} does not exist.` };
  }
  const rejected = context.faults.rejectEntry?.({ source, detailType, detail, eventBusName });
  if (rejected !== undefined) return rejected;
  const rate = context.faults.entryFailureRate ?? 0;
  if (rate > 0 && context.random() < rate) return injectedEntryFault(pickCode(context.faults.entryErrorCode, context.random));
  return {
    store: true,
    event: {
      eventBusName,
      source,
      detailType,
      detail,
      resources: entry.resources,
      ...(entry.time === undefined ? {} : { time: entry.time }),
      ...(entry.traceHeader === undefined ? {} : { traceHeader: entry.traceHeader }),
    },
  };
}

const required = (member: string): EntryFault => ({
  errorCode: 'InvalidArgument',
  errorMessage: `Parameter ${member} is not valid. Reason: ${member} is a required argument.`,
});

function pickCode(codes: string | readonly string[] | undefined, random: () => number): string {
  if (codes === undefined) return 'InternalFailure';
  if (typeof codes === 'string') return codes;
  return codes[Math.floor(random() * codes.length)] ?? 'InternalFailure';
}

function injectedEntryFault(errorCode: string): EntryFault {
  const messages: Record<string, string> = {
    InternalFailure: 'Internal failure.',
    ThrottlingException: 'Rate exceeded.',
  };
  return { errorCode, errorMessage: messages[errorCode] ?? `${errorCode} (injected by the EventBridge stand-in).` };
}

/** The parsed Detail when it is a JSON object, else undefined. */
function parseDetail(detail: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(detail);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function readEntries(input: Record<string, unknown>): RequestEntry[] {
  const raw = input.Entries;
  if (raw === undefined || raw === null) {
    throw validationError("1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null");
  }
  if (!Array.isArray(raw)) throw new AwsError('SerializationException', 'Entries must be a list.');
  if (raw.length < 1 || raw.length > MAX_ENTRIES) {
    const bound = raw.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_ENTRIES}`;
    throw validationError(`1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length ${bound}`);
  }
  return raw.map((item: unknown) => {
    if (!isRecord(item)) throw new AwsError('SerializationException', 'Each of Entries must be an object.');
    return {
      source: optionalString(item, 'Source'),
      detailType: optionalString(item, 'DetailType'),
      detail: optionalString(item, 'Detail'),
      resources: readResources(item.Resources),
      time: readTime(item.Time),
      eventBusName: optionalString(item, 'EventBusName'),
      traceHeader: optionalString(item, 'TraceHeader'),
    };
  });
}

function readResources(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) {
    throw new AwsError('SerializationException', 'Resources must be a list of strings.');
  }
  return value;
}

/** JSON 1.1 sends timestamps as epoch seconds (possibly fractional); a numeric or ISO string is tolerated too. */
function readTime(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  let ms = Number.NaN;
  if (typeof value === 'number') ms = value * 1000;
  else if (typeof value === 'string') ms = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : Date.parse(value);
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw new AwsError('SerializationException', 'Time is not a valid timestamp.');
  return new Date(Math.round(ms)).toISOString();
}

/** The entry size as AWS documents it ("Calculating PutEvents event entry size"). */
export function entrySize(entry: RequestEntry): number {
  const bytes = (text: string | undefined): number => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));
  return (
    (entry.time === undefined ? 0 : TIME_BYTES) +
    bytes(entry.source) +
    bytes(entry.detailType) +
    bytes(entry.detail) +
    entry.resources.reduce((sum, resource) => sum + bytes(resource), 0)
  );
}
