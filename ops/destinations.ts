import { titleOf } from '../infra/config/operator-outputs';
import { DESTINATION_NAMES, type DestinationName } from '../infra/config/pipeline-config';
import { DESTINATION_MODES } from '../shared/config/consumer-config';
import { DESTINATION_NAME_PATTERN } from '../shared/destination-plugin/runtime-plugin';
import type { DeliveryMode } from '../shared/ordering/delivery-mode';

/**
 * Destination names as `fanout` sees them: the built-ins and any plug-in a target has. Nothing here imports
 * `aws-cdk-lib` (the CLI should start fast); the output keys come from `infra/config/operator-outputs.ts`, which the
 * construct names its outputs with.
 */

export { DESTINATION_NAME_PATTERN };
export const DELIVERY_MODES: readonly DeliveryMode[] = ['every-version', 'latest-state', 'in-order'];

export { titleOf };

export function isBuiltIn(name: string): name is DestinationName {
  return (DESTINATION_NAMES as readonly string[]).includes(name);
}

/** The built-in's mode; undefined for a plug-in (its mode comes from the target). */
export function builtInMode(name: string): DeliveryMode | undefined {
  return isBuiltIn(name) ? DESTINATION_MODES[name] : undefined;
}

/** A destination the target does not have: names the ones it has. */
export class UnknownDestinationError extends Error {
  constructor(
    readonly destination: string,
    readonly known: readonly string[],
    where: string,
  ) {
    super(`no destination "${destination}" in ${where}: it has ${known.join(', ') || 'none'}`);
    this.name = 'UnknownDestinationError';
  }
}

/** A stack output that is missing or malformed: names the output and what it should be. */
export class StackOutputError extends Error {
  constructor(
    readonly output: string,
    message: string,
  ) {
    super(message);
    this.name = 'StackOutputError';
  }
}

/** One entry of the stack output `Destinations`. */
export interface StackDestination {
  readonly name: string;
  readonly mode: DeliveryMode;
}

/**
 * The stack output `Destinations`: a JSON list of `{"name", "mode"}`, every destination the stack has, plug-ins
 * included. Absent (a stack deployed before it existed): the three built-ins. Anything else is refused with what is
 * wrong, rather than guessed at: a wrong mode would make `status` and `reconcile` read the ledger wrongly.
 */
export function parseStackDestinations(value: string | undefined, stackName: string): StackDestination[] {
  if (value === undefined || value === '') return DESTINATION_NAMES.map((name) => ({ name, mode: DESTINATION_MODES[name] }));
  const fail = (what: string): never => {
    throw new StackOutputError('Destinations', `stack ${stackName}: output Destinations ${what}; expected a JSON list of {"name", "mode"}`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    return fail(`is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!Array.isArray(parsed)) return fail('is not a list');
  const seen = new Set<string>();
  return parsed.map((entry: unknown, index) => {
    const { name, mode } = (typeof entry === 'object' && entry !== null ? entry : {}) as { name?: unknown; mode?: unknown };
    if (typeof name !== 'string' || !DESTINATION_NAME_PATTERN.test(name)) return fail(`[${index}] has no valid name (got ${JSON.stringify(name)})`);
    if (!DELIVERY_MODES.includes(mode as DeliveryMode)) return fail(`[${index}] (${name}) has mode ${JSON.stringify(mode)}, not one of ${DELIVERY_MODES.join(', ')}`);
    const known = builtInMode(name);
    if (known !== undefined && known !== mode) return fail(`[${index}] says ${name} is ${String(mode)}, but the built-in is ${known}`);
    if (seen.has(name)) return fail(`names ${name} twice`);
    seen.add(name);
    return { name, mode: mode as DeliveryMode };
  });
}
