import type { AcceptedVersion, LocalStandIn } from '../plugins/local-plugin';
import type { LocalEnvironment } from './environment';

/** One delivery a destination accepted, as read back from it, in arrival order. */
export interface Accepted {
  readonly accountId: string;
  readonly version: number;
  readonly healed: boolean;
  /** The balance the destination holds for this version; absent for a tombstone. */
  readonly balance?: number;
  /** When the destination accepted it (ms since the epoch). */
  readonly at: number;
}

/** The stand-in of a destination of the run. */
export function standInOf(env: Pick<LocalEnvironment, 'destinations'>, destination: string): LocalStandIn {
  const running = env.destinations.find(({ name }) => name === destination);
  if (!running) throw new UnknownRunDestinationError(destination);
  return running.standIn;
}

/**
 * What a destination of the run has accepted so far, cheaply and while faults may still be on: its stand-in's
 * `acceptedSoFar`, or its read-back when that is cheap and fault-free enough.
 */
export async function acceptedSoFar(env: Pick<LocalEnvironment, 'destinations'>, destination: string): Promise<readonly AcceptedVersion[]> {
  const standIn = standInOf(env, destination);
  return standIn.acceptedSoFar ? standIn.acceptedSoFar() : standIn.readBack();
}

/** A destination name that is not one of this run's. */
export class UnknownRunDestinationError extends Error {
  constructor(readonly destination: string) {
    super(`the run has no destination "${destination}"`);
    this.name = 'UnknownRunDestinationError';
  }
}
