import type { ServerResponse } from 'node:http';

/** Default delay of an injected slow response: longer than a claim's default 60 s, so it outlives any claim. */
export const DEFAULT_SLOW_MS = 90_000;

/**
 * Holds a request for `ms` before the stand-in handles it, as an overloaded service does. Resolves `true` to go on,
 * or `false` when the client gave up meanwhile (closed the connection, e.g. on its deadline): the stand-in then drops
 * the request unhandled, so a write the client abandoned never lands behind its back.
 */
export function hold(response: ServerResponse, ms: number): Promise<boolean> {
  if (response.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (goOn: boolean): void => {
      clearTimeout(timer);
      response.off('close', gone);
      resolve(goOn);
    };
    const gone = (): void => done(false);
    const timer = setTimeout(() => done(!response.destroyed), ms);
    response.once('close', gone);
  });
}

/** Checks a slow-response setting: a rate in 0..1 and a non-negative delay. */
export function checkSlow(slowRate: number | undefined, slowMs: number | undefined): { slowRate: number; slowMs: number } {
  const rate = slowRate ?? 0;
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new RangeError(`slowRate must be within 0..1, got ${slowRate}`);
  const ms = slowMs ?? DEFAULT_SLOW_MS;
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`slowMs must be a non-negative number of milliseconds, got ${slowMs}`);
  return { slowRate: rate, slowMs: ms };
}
