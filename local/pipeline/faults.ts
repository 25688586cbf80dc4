import { DESTINATION_NAMES, type DestinationName } from '../../infra/config/pipeline-config';
import type { LocalEnvironment } from './environment';

/** `--fail <destination>:<rate>`: the destination's service fails that fraction of its calls. */
export interface Fault {
  readonly destination: DestinationName;
  readonly rate: number;
}

export function parseFault(text: string): Fault {
  const [destination, rateText] = text.split(':');
  const rate = Number(rateText);
  if (!DESTINATION_NAMES.includes(destination as DestinationName) || rateText === undefined || !(rate >= 0 && rate <= 1)) {
    throw new RangeError(`--fail expects <destination>:<rate> with a destination of ${DESTINATION_NAMES.join(', ')} and a rate in 0..1, got "${text}"`);
  }
  return { destination: destination as DestinationName, rate };
}

/**
 * Makes the destination's service fail as it does in real life, at `rate`: S3 answers 503 SlowDown, OpenSearch 429,
 * EventBridge a 500 InternalException for the whole PutEvents call. All retryable, so a rate below 1 slows a
 * destination down and 1 makes its records end parked or dead-lettered.
 */
export function injectFault(env: LocalEnvironment, { destination, rate }: Fault): void {
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
