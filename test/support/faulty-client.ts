/**
 * A stand-in for an AWS SDK client that passes commands to the real one (an emulator's) unless a contract fault says
 * otherwise: the next calls fail as a 503 does, an account's entries are refused entry by entry, or every request
 * waits for its abort signal. `split` says how a command's entries map to accounts and how to answer refused ones.
 */
export interface ClientFaultState {
  failNextCalls: number;
  readonly rejected: Set<string>;
  hang: boolean;
  /** Entries per request that reached the fault layer (refused ones included). */
  readonly entriesPerCall: number[];
}

export function clientFaultState(): ClientFaultState {
  return { failNextCalls: 0, rejected: new Set(), hang: false, entriesPerCall: [] };
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
    hang: (on: boolean) => void (state.hang = on),
  };
}
