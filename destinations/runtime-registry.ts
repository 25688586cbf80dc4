import type { RuntimePlugin } from '../shared/destination-plugin/runtime-plugin';

/**
 * The runtime halves of every destination that ships with the package, built-in or plug-in alike, by name: what
 * `fanout` can run in its own process (`reconcile --contents`, `--repair`) and plan (`plan --destinations`).
 *
 * Runtime halves only, never `aws-cdk-lib` (`destinations/registry.ts` has the whole plug-ins, infrastructure halves
 * included). Each is loaded when first asked for: each pulls in its service's SDK client (search's takes about a
 * second), and most commands need one at most.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each runtime half has its own settings type
export type AnyRuntimePlugin = RuntimePlugin<any>;

const LOADERS: Readonly<Record<string, () => Promise<AnyRuntimePlugin>>> = {
  audit: async () => (await import('../consumers/audit/runtime')).auditRuntime,
  search: async () => (await import('../consumers/search/runtime')).searchRuntime,
  fraud: async () => (await import('../consumers/fraud/runtime')).fraudRuntime,
  'ledger-queue': async () => (await import('./ledger-queue/runtime')).ledgerQueueRuntime,
};

/** The names of the shipped destinations, in the order the stack lists them (the built-ins first). */
export const SHIPPED_DESTINATIONS: readonly string[] = Object.keys(LOADERS);

export function isShipped(name: string): boolean {
  return Object.hasOwn(LOADERS, name);
}

/** A name `loadRuntime` does not know: lists the ones it does. */
export class UnknownRuntimeError extends Error {
  constructor(readonly destination: string) {
    super(`no destination "${destination}" ships with fanout: it knows ${SHIPPED_DESTINATIONS.join(', ')}`);
    this.name = 'UnknownRuntimeError';
  }
}

/** The runtime half of a shipped destination; `UnknownRuntimeError` for any other name. */
export async function loadRuntime(name: string): Promise<AnyRuntimePlugin> {
  const load = Object.hasOwn(LOADERS, name) ? LOADERS[name] : undefined;
  if (load === undefined) throw new UnknownRuntimeError(name);
  const runtime = await load();
  // The registry's key is what operators type; a half registered under another name would act on the wrong ledger keys.
  if (runtime.name !== name) throw new Error(`runtime registry: "${name}" holds the runtime half of ${runtime.name}`);
  return runtime;
}
