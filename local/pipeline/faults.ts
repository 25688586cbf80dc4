import { DESTINATION_NAMES } from '../../infra/config/pipeline-config';
import { DESTINATION_NAME_PATTERN } from '../../shared/destination-plugin/runtime-plugin';
import type { LocalEnvironment } from './environment';

/** `--fail <destination>:<rate>`: the destination's service fails that fraction of its calls. */
export interface Fault {
  /** A built-in's name or a plug-in's: which ones the run has is checked when it starts (`checkFaults`). */
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
  // Only the spelling is checked here: the run, not the parser, knows which plug-ins there are.
  if (!DESTINATION_NAME_PATTERN.test(destination) || rateText === undefined || rateText.trim() === '' || !(rate >= 0 && rate <= 1)) {
    throw new RangeError(
      `--fail expects <destination>:<rate> with a destination of the run (${DESTINATION_NAMES.join(', ')} or a plug-in of --destinations) and a rate in 0..1, got "${text}"`,
    );
  }
  return { destination, rate };
}

/** Refuses a `--fail` for a destination the run does not have, or whose stand-in cannot fail its calls. */
export function checkFaults(env: LocalEnvironment, faults: readonly Fault[]): void {
  const names = [...DESTINATION_NAMES, ...env.plugins.map((run) => run.name)];
  for (const { destination } of faults) {
    if (!names.includes(destination)) {
      throw new FaultOptionError('--fail', `this run has no destination "${destination}" (it has ${names.join(', ')}); add plug-ins with --destinations`);
    }
    const plugin = env.plugins.find((run) => run.name === destination);
    if (plugin && plugin.standIn.failCalls === undefined) {
      throw new FaultOptionError(
        '--fail',
        `the local stand-in of plug-in ${destination} cannot fail its calls (its LocalStandIn has no failCalls); ` +
          `fault a plug-in with --crash-rate or --permanent-gap-rate instead`,
      );
    }
  }
}

/**
 * Makes the destination's service fail as it does in real life, at `rate`: S3 answers 503 SlowDown, OpenSearch 429,
 * EventBridge a 500 InternalException for the whole PutEvents call, a plug-in's stand-in as its `failCalls` says.
 * All retryable, so a rate below 1 slows a destination down and 1 makes its records end parked or dead-lettered.
 * Check the faults first (`checkFaults`).
 */
export function injectFault(env: LocalEnvironment, { destination, rate }: Fault): void {
  const plugin = env.plugins.find((run) => run.name === destination);
  if (plugin) {
    plugin.standIn.failCalls?.(rate, 1);
    return;
  }
  switch (destination) {
    case 'audit':
      env.s3Proxy.setFaults({ slowDownRate: rate, seed: 1 });
      return;
    case 'search':
      env.openSearch.setFaults({ throttleRate: rate, seed: 1 });
      return;
    case 'fraud':
      env.eventBridge.setFaults({ callFailureRate: rate, callError: 'InternalException', seed: 1 });
      return;
  }
}
