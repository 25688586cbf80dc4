import type { Env } from '../config/env';
import type { DeliveryMode } from '../ordering/delivery-mode';
import type { Destination } from '../ordering/ports';
import type { Retrier } from '../retry/retrier';

/**
 * The runtime half of a destination plug-in: what runs in its Lambda function (and in `npm start`, which runs the same
 * handler). It must not import `aws-cdk-lib`: the handler is bundled from it, and that bundle should stay small.
 *
 * The engine owns ordering, the ledger, retries across invocations and dead letters; a plug-in only writes a batch
 * through the `Destination` port and answers per delivery, in order:
 * - `delivered`: the destination took it;
 * - `duplicate` / `stale`: the destination already held it, or something newer (what a repeat becomes, per mode);
 * - `failed` + `DELIVERY_FAILED`: retryable, and the retrier's budget or the call's deadline ran out (attempts 0 = not
 *   sent at all: the engine retries it rather than dead-lettering it);
 * - `failed` + `REJECTED`: refused for good (too big, malformed, access denied): dead-lettered at once.
 * It throws only for the unexpected (a bug), which fails the batch so Lambda bisects it.
 */
export interface RuntimePlugin<Settings = unknown> {
  /** Lower-case letters, digits and '-': its ledger keys (`<name>#...`), metric dimension, functions and alarms. */
  readonly name: string;
  readonly mode: DeliveryMode;
  /** Its own settings from the function's environment (what its infra half set); throws `ConfigurationError`. */
  readSettings(env: Env): Settings;
  /** Builds the adapter. `close` releases its clients' sockets (tests and `npm start`; Lambda never calls it). */
  createDestination(settings: Settings, context: AdapterContext): { readonly destination: Destination; close(): void };
  /** Optional: what the destination holds of an account (`fanout reconcile --contents`); absent when unreadable. */
  reconcileReader?(settings: Settings, context: AdapterContext): ReconcileReader;
}

export interface AdapterContext {
  /** The consumer's retry budget: one per invocation, moved to its deadline, counting every retry as a metric. */
  readonly retrier: Retrier;
  readonly region: string;
  /**
   * Options for the plug-in's AWS SDK client: one attempt per request (the retrier retries, with the invocation's time
   * in view), time-bound requests, and the endpoint override in `endpointVariable` when set (local runs).
   */
  clientConfig(endpointVariable?: string): Record<string, unknown>;
}

/** The newest version the destination holds of an account, or null for none. */
export interface ReconcileReader {
  read(account: { readonly accountId: string; readonly version: number }): Promise<number | null>;
  close(): void;
}

/**
 * How a destination's name is spelled (built-ins and plug-ins alike): lower case, as it prefixes ledger keys and
 * function and alarm names. One rule for the stack, `fanout` and `npm start`.
 */
export const DESTINATION_NAME_PATTERN = /^[a-z][a-z0-9-]{0,29}$/;
