/**
 * A stand-in for an AWS SDK client that passes commands to the real one (an emulator's) unless a contract fault says
 * otherwise: the next calls fail as a 503 does, an account's entries (or one version's) are refused entry by entry,
 * every request waits for its abort signal, or requests in flight together reach the service in reverse order.
 * `split` says how a command's entries map to accounts and how to answer refused ones.
 */
export interface ClientFaultState {
  failNextCalls: number;
  readonly rejected: Set<string>;
  /** Single versions refused for good, as `<account>#<version>` (see `isRefused`). */
  readonly rejectedVersions: Set<string>;
  hang: boolean;
  /** Requests that reach the fault layer together go on to the service in reverse order (see `holdInReverse`). */
  reverse: boolean;
  /** Entries per request that reached the fault layer (refused ones included). */
  readonly entriesPerCall: number[];
  /** Requests held by `reverse`, oldest first, and the timer that releases the newest. */
  readonly held: (() => void)[];
  releaseTimer?: ReturnType<typeof setTimeout>;
}

export function clientFaultState(): ClientFaultState {
  return { failNextCalls: 0, rejected: new Set(), rejectedVersions: new Set(), hang: false, reverse: false, entriesPerCall: [], held: [] };
}

/** Whether the service refuses this entry for good: its whole account is refused, or this one version of it. */
export function isRefused(state: ClientFaultState, accountId: string, version: number | undefined): boolean {
  return state.rejected.has(accountId) || (version !== undefined && state.rejectedVersions.has(`${accountId}#${version}`));
}

/** How long `holdInReverse` waits for no further request before it releases the held ones, and how far apart. */
export const REVERSE_QUIET_MS = 40;
export const REVERSE_GAP_MS = 25;

/**
 * Holds a request until no other has reached the fault layer for `REVERSE_QUIET_MS`, then releases the held ones
 * newest first, `REVERSE_GAP_MS` apart: requests an adapter has in flight at once reach the service in reverse order
 * of sending (as a slow first request or a reordering network would let them), while an adapter that waits for one
 * request's answer before it sends the next only sees them slowed down.
 */
export function holdInReverse(state: ClientFaultState): Promise<void> {
  return new Promise((resolve) => {
    state.held.push(resolve);
    clearTimeout(state.releaseTimer);
    state.releaseTimer = setTimeout(() => releaseNewest(state), REVERSE_QUIET_MS);
  });
}

function releaseNewest(state: ClientFaultState): void {
  const next = state.held.pop();
  state.releaseTimer = state.held.length > 0 ? setTimeout(() => releaseNewest(state), REVERSE_GAP_MS) : undefined;
  next?.();
}

export function serviceUnavailable(): Error {
  return Object.assign(new Error('Service Unavailable (contract fault)'), { name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } });
}

/** Waits until the request's signal aborts, then fails as the SDK does (`AbortError`): a service that stopped answering. */
export function hangUntilAborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    const abort = (): void => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
    if (signal?.aborted) abort();
    else signal?.addEventListener('abort', abort, { once: true });
  });
}

/**
 * Runs the common faults of one request: counts it, hangs or fails it when told to. Returns normally when the request
 * should go on to the real client.
 */
export async function applyCallFaults(state: ClientFaultState, entries: number, signal: AbortSignal | undefined): Promise<void> {
  state.entriesPerCall.push(entries);
  if (state.reverse) await holdInReverse(state);
  if (state.hang) await hangUntilAborted(signal);
  if (state.failNextCalls > 0) {
    state.failNextCalls -= 1;
    throw serviceUnavailable();
  }
}

export function contractFaults(state: ClientFaultState) {
  return {
    failNextCalls: (calls: number) => void (state.failNextCalls = calls),
    rejectAccount: (accountId: string) => void state.rejected.add(accountId),
    rejectVersion: (accountId: string, version: number) => void state.rejectedVersions.add(`${accountId}#${version}`),
    hang: (on: boolean) => void (state.hang = on),
    landInReverse: (on: boolean) => void (state.reverse = on),
  };
}
