import { DESTINATION_NAME_PATTERN } from '../../shared/destination-plugin/runtime-plugin';
import { rulesByDestination, type DestinationFaults } from '../standins/fault-spec';
import type { LocalEnvironment } from './environment';
import { standInOf } from './read-back';

/** `--fail <destination>:<rate>`: the destination's service fails that fraction of its calls. */
export interface Fault {
  /** A destination of the run: which ones the run has is checked when it starts (`checkFaults`). */
  readonly destination: string;
  readonly rate: number;
}

/** A `--fail`, `--destination-faults` or other fault option the run cannot apply: names the option and why. */
export class FaultOptionError extends Error {
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
    this.name = 'FaultOptionError';
  }
}

export function parseFault(text: string): Fault {
  const [destination = '', rateText] = text.split(':');
  const rate = Number(rateText);
  // Only the spelling is checked here: the run, not the parser, knows its destinations.
  if (!DESTINATION_NAME_PATTERN.test(destination) || rateText === undefined || rateText.trim() === '' || !(rate >= 0 && rate <= 1)) {
    throw new RangeError(`--fail expects <destination>:<rate> with a destination of the run (--destinations) and a rate in 0..1, got "${text}"`);
  }
  return { destination, rate };
}

/**
 * Why a `--fail` names a destination the run does not have (undefined when every one is there): `known` (every
 * destination there is) tells one the run could add with --destinations from one that does not exist. `npm start`
 * asks before it starts anything.
 */
export function missingFaultDestination(faults: readonly Fault[], names: readonly string[], known?: ReadonlyMap<string, unknown>): string | undefined {
  for (const { destination } of faults) {
    if (names.includes(destination)) continue;
    return known === undefined || known.has(destination)
      ? `this run has no destination "${destination}" (it has ${names.join(', ')}); add it with --destinations`
      : `there is no destination "${destination}" (there are ${[...known.keys()].join(', ')})`;
  }
  return undefined;
}

/** Refuses a `--fail` for a destination the run does not have, or whose stand-in cannot fail its calls. */
export function checkFaults(env: Pick<LocalEnvironment, 'destinations'>, faults: readonly Fault[]): void {
  const names = env.destinations.map(({ name }) => name);
  const missing = missingFaultDestination(faults, names);
  if (missing !== undefined) throw new FaultOptionError('--fail', missing);
  for (const { destination } of faults) {
    if (standInOf(env, destination).failCalls === undefined) {
      throw new FaultOptionError(
        '--fail',
        `the local stand-in of ${destination} cannot fail its calls (its LocalStandIn has no failCalls); ` +
          `fault it with --crash-rate or --permanent-gap-rate instead`,
      );
    }
  }
}

/**
 * Makes the destination's service fail as it does in real life, at `rate`, as its stand-in's `failCalls` says (S3
 * answers 503 SlowDown, OpenSearch 429, EventBridge a 500 InternalException for the whole PutEvents call, SQS a 500
 * InternalError). All retryable, so a rate below 1 slows a destination down and 1 makes its records end parked or
 * dead-lettered. Check the faults first (`checkFaults`).
 */
export function injectFault(env: Pick<LocalEnvironment, 'destinations'>, { destination, rate }: Fault): void {
  standInOf(env, destination).failCalls?.(rate, 1);
}

/**
 * `--destination-faults`: sets the profile of each destination the rules name (replacing what it had) and leaves the
 * others alone. Seeded, so a run replays. The rules were checked against the run (`checkDestinationFaults`).
 */
export function applyDestinationFaults(env: Pick<LocalEnvironment, 'destinations'>, faults: DestinationFaults, seed: number): void {
  for (const [destination, rules] of rulesByDestination(faults)) standInOf(env, destination).injectFaults?.(rules, seed);
}

/** The outage is over: every destination's stand-in stops injecting faults, `--fail`'s included. */
export function endFaults(env: Pick<LocalEnvironment, 'destinations'>): void {
  for (const { standIn } of env.destinations) {
    if (standIn.injectFaults) standIn.injectFaults([], 1);
    else standIn.failCalls?.(0, 1);
  }
}
