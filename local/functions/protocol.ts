/** Messages between a `LocalFunction` and its worker. */
export interface InvokeRequest {
  readonly id: number;
  readonly event: unknown;
  readonly timeoutMs: number;
  /** The invocation's request id (the caller's, e.g. the mapping's, so its on-failure record names the one the handler logs). */
  readonly awsRequestId?: string;
  /** Fault injection (`--crash-rate`): where this invocation's execution environment dies. Absent: it does not. */
  readonly crash?: CrashPlan;
}

/** Sent once by the worker when the handler module has loaded (or failed to): its init phase is over. */
export interface InitDone {
  readonly initDone: true;
}

/**
 * Sent by a worker timing ledger reads (`LocalFunctionOptions.onLedgerRead`) when invocation `id` had its batch's
 * watermarks from the ledger (see `ledger-read-marks.ts`).
 */
export interface LedgerRead {
  readonly ledgerRead: { readonly id: number; readonly atMs: number };
}

export type InvokeResponse =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: { name: string; message: string; stack?: string } };

/**
 * Where an injected crash hits, as seen from the handler's calls:
 *
 * - `before-ledger-write`: right before a ledger write (`PutItem`/`TransactWriteItems`), i.e. after a destination write
 *   and before its commit, or right after a claim was written and before the delivery;
 * - `before-destination-call`: right before an S3 `PutObject`, an EventBridge `PutEvents` or an OpenSearch write
 *   request, i.e. between a claim and its delivery;
 * - `mid-batch`: right before any AWS SDK call or OpenSearch request (ledger reads, dead letters included);
 * - `after-batch`: the handler finished its work, the environment dies before its answer reaches the mapping (where an
 *   armed invocation ends up when it never reached its chosen point).
 */
export type CrashPoint = 'before-ledger-write' | 'before-destination-call' | 'mid-batch' | 'after-batch';

export const CRASH_POINTS: readonly CrashPoint[] = ['before-ledger-write', 'before-destination-call', 'mid-batch', 'after-batch'];

/** The crash an invocation is armed with: it dies right before the `nth` call of the chosen kind. */
export interface CrashPlan {
  readonly point: Exclude<CrashPoint, 'after-batch'>;
  readonly nth: number;
}

/** Exit codes of an execution environment that died of an injected crash. */
export const CRASH_EXIT_CODES: Readonly<Record<CrashPoint, number>> = {
  'before-ledger-write': 81,
  'before-destination-call': 82,
  'mid-batch': 83,
  'after-batch': 84,
};

export function crashPointOfExitCode(code: number): CrashPoint | undefined {
  return CRASH_POINTS.find((point) => CRASH_EXIT_CODES[point] === code);
}
