/** Public types of the EventBridge stand-in (see `server.ts`). */

/** An event the stand-in accepted and stored, as the producer sent it. */
export interface ReceivedEvent {
  /** The EventId returned to the caller. */
  readonly eventId: string;
  /** Resolved bus name: "default" when EventBusName was absent, the name part when it was a bus ARN. */
  readonly eventBusName: string;
  readonly source: string;
  readonly detailType: string;
  /** Detail, parsed from its JSON string. */
  readonly detail: unknown;
  readonly resources: readonly string[];
  /** ISO 8601 (millisecond precision), if the entry had Time. */
  readonly time?: string;
  readonly traceHeader?: string;
  /** Date.now() when the call was committed; arrival order is the array order of `events()`. */
  readonly receivedAt: number;
  /** Which PutEvents call carried it: 1-based, since start or the last `clear()`, failed calls counted too. */
  readonly call: number;
}

/** A per-entry failure, as it appears in the PutEvents response (`ErrorCode`, `ErrorMessage`). */
export interface EntryFault {
  readonly errorCode: string;
  readonly errorMessage: string;
}

/** What `rejectEntry` is shown of an entry that passed the stand-in's own validation. */
export interface EntryView {
  readonly source: string;
  readonly detailType: string;
  readonly detail: unknown;
  readonly eventBusName: string;
}

export type CallError = 'ThrottlingException' | 'InternalException' | 'AccessDeniedException';

/**
 * A seeded fault profile for PutEvents (other operations are never faulted). Per call, the PRNG draws only for faults
 * that are on, in this order: slow, throttle, call failure, then per entry; so one profile replays from its seed.
 */
export interface EventBridgeFaults {
  /** Fraction 0..1 of entries that fail with `entryErrorCode` (a retryable InternalFailure by default). */
  entryFailureRate?: number;
  /**
   * The per-entry error code, or several to pick from (seeded) for each failed entry, e.g. the two AWS documents as
   * retryable: `['ThrottlingException', 'InternalFailure']`. @default 'InternalFailure'
   */
  entryErrorCode?: string | readonly string[];
  /** Fraction 0..1 of whole PutEvents calls answered ThrottlingException (HTTP 400, "Rate exceeded"); nothing stored. */
  throttleRate?: number;
  /** Fraction 0..1 of whole PutEvents calls that fail with `callError`; drawn after `throttleRate`. */
  callFailureRate?: number;
  /** @default 'ThrottlingException' */
  callError?: CallError;
  /**
   * Fraction 0..1 of PutEvents calls held `slowMs` before they are handled. A call whose client disconnects while held
   * (an SDK abort at a deadline) is dropped unhandled: nothing of it is stored.
   */
  slowRate?: number;
  /** @default 90000 (longer than a claim's default 60 s) */
  slowMs?: number;
  /**
   * Decide per entry: return a fault to fail it (e.g. a schema rejection for a detail type), undefined to accept.
   * Applied after the stand-in's own validation and before the rates. If it throws, the whole call is answered with
   * HTTP 500 InternalException and nothing of it is stored.
   */
  rejectEntry?: (entry: EntryView) => EntryFault | undefined;
  /** Fault PRNG seed; `setFaults` restarts the PRNG from it. @default 1 */
  seed?: number;
}

/**
 * What PutEvents does with an entry for a bus that does not exist.
 * - `'drop'` (default, like real EventBridge): the entry gets an EventId, is not stored, and counts in
 *   `stats.droppedEntries`. AWS has answered this way for years (aws/aws-sdk#186, aws/aws-cli#9186); LocalStack
 *   matches it after checking against AWS (localstack/localstack#8264).
 * - `'fail'` (stricter than AWS): the entry fails with `ResourceNotFoundException`, "Event bus <name> does not exist."
 */
export type UnknownBusMode = 'drop' | 'fail';

export interface EventBridgeStandInOptions extends EventBridgeFaults {
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Custom buses to create up front; `default` always exists. */
  buses?: readonly string[];
  /** @default 'drop' */
  unknownBus?: UnknownBusMode;
  /**
   * Limit on the summed entry size of one PutEvents call, computed as AWS documents it (Time 14 bytes + UTF-8 bytes of
   * Source, DetailType, Detail and each Resources item). @default 262144 (256 KB)
   */
  maxRequestEntryBytes?: number;
  /** Account in the ARNs the stand-in returns. @default '000000000000' */
  accountId?: string;
}

export interface EventBridgeStandIn {
  /** http://<host>:<port>, for the client's `endpoint`. */
  readonly endpoint: string;
  /** Replaces the current faults and restarts the fault PRNG; `{}` turns them off. */
  setFaults(faults: EventBridgeFaults): void;
  /** Accepted events in arrival order: of one bus (name or ARN), or of all buses when omitted. */
  events(eventBusName?: string): ReceivedEvent[];
  /** Forgets the received events and resets `stats` (and call numbering); keeps buses and faults. */
  clear(): void;
  /**
   * A snapshot of the counters: `requests` (all operations), `calls` (PutEvents calls handled), `failedCalls` (answered
   * with an injected throttle or call fault), `invalidCalls` (answered with a validation or serialization error),
   * `entries` (entries of the calls that reached per-entry processing) = `accepted` + `failedEntries` +
   * `droppedEntries`; `heldCalls` (held by `slowRate`) and `abandonedCalls` (held, then dropped: the client had left).
   */
  readonly stats: Readonly<Record<string, number>>;
  /** Closes the server, keep-alive sockets included. */
  stop(): Promise<void>;
}
