/**
 * Fault injection inside a local execution environment (`--crash-rate`), never in the handler's code: before the
 * handler module is imported, the worker wraps the AWS SDK's `Client.prototype.send` (every v3 client extends the
 * one class of `@smithy/core/client`) and the OpenSearch client's `Transport.prototype.request`, so that an invocation
 * armed with a `CrashPlan` kills its environment right before the chosen call, as a Lambda environment dies (out of
 * memory, a runtime crash, a time-out): `process.exit` in the worker thread, nothing after it runs, no answer. The
 * call itself is never made.
 */
import { createRequire } from 'node:module';
import { CRASH_EXIT_CODES, type CrashPlan } from './protocol';

type CallKind = 'ledger-write' | 'destination' | 'other';

const LEDGER_WRITES = new Set(['PutItemCommand', 'TransactWriteItemsCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand']);
const DESTINATION_WRITES = new Set(['PutObjectCommand', 'PutEventsCommand']);

let armed: { plan: CrashPlan; seen: number } | undefined;
let installed = false;

/** Arms the crash of the invocation about to run (one invocation at a time per environment). */
export function arm(plan: CrashPlan | undefined): void {
  armed = plan ? { plan, seen: 0 } : undefined;
}

/** After the handler answered: an armed invocation that never reached its point dies now, before it answers. */
export function dieIfStillArmed(): void {
  if (armed) die(CRASH_EXIT_CODES['after-batch']);
  armed = undefined;
}

export function disarm(): void {
  armed = undefined;
}

function die(code: number): never {
  process.exit(code);
}

/** True when the call is the one the plan dies before (the environment is then gone). */
function reached(kind: CallKind): boolean {
  if (!armed) return false;
  const { point, nth } = armed.plan;
  const counts =
    point === 'mid-batch' ||
    (point === 'before-ledger-write' && kind === 'ledger-write') ||
    (point === 'before-destination-call' && kind === 'destination');
  if (!counts) return false;
  armed.seen += 1;
  if (armed.seen < nth) return false;
  die(CRASH_EXIT_CODES[point]);
}

function kindOfCommand(command: unknown): CallKind {
  const name = (command as { constructor?: { name?: string } } | undefined)?.constructor?.name ?? '';
  if (LEDGER_WRITES.has(name)) {
    const ledger = process.env.LEDGER_TABLE_NAME;
    const input = JSON.stringify((command as { input?: unknown }).input ?? {});
    return ledger === undefined || input.includes(`"${ledger}"`) ? 'ledger-write' : 'other';
  }
  return DESTINATION_WRITES.has(name) ? 'destination' : 'other';
}

/** Wraps the clients' call paths once per environment; before the handler module (and its clients) are loaded. */
export function installCrashHooks(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const never = new Promise<never>(() => undefined);

  const { Client } = require('@smithy/core/client') as { Client: { prototype: { send: (...args: unknown[]) => unknown } } };
  const send = Client.prototype.send;
  Client.prototype.send = function patchedSend(this: unknown, ...args: unknown[]) {
    if (reached(kindOfCommand(args[0]))) return never;
    return send.apply(this, args);
  };

  let transport: { prototype: { request: (...args: unknown[]) => unknown } } | undefined;
  try {
    transport = require('@opensearch-project/opensearch/lib/Transport.js') as typeof transport;
  } catch {
    transport = undefined; // no OpenSearch client in this function
  }
  if (transport) {
    const request = transport.prototype.request;
    transport.prototype.request = function patchedRequest(this: unknown, ...args: unknown[]) {
      const method = String((args[0] as { method?: string } | undefined)?.method ?? 'GET').toUpperCase();
      if (reached(method === 'GET' || method === 'HEAD' ? 'other' : 'destination')) return never;
      return request.apply(this, args);
    };
  }
}
