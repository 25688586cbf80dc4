import { engineReserveMs, type ConsumerConfig } from '../config/consumer-config';
import type { Destination } from '../ordering/ports';
import { PowertoolsTelemetry } from '../observability/powertools-telemetry';
import type { Telemetry } from '../observability/telemetry';
import type { Retrier } from '../retry/retrier';
import { ChangeConsumer } from './change-consumer';
import { ledgerAndQueue } from './clients';
import type { ConsumerRuntime } from './kinesis-handler';

export interface BuiltRuntime extends ConsumerRuntime {
  readonly destination: Destination;
  /** Releases the SDK clients' sockets (tests and the local pipeline; Lambda never calls it). */
  close(): void;
}

export interface RuntimeOptions {
  readonly telemetry?: Telemetry;
}

/** Wires one destination's consumer from its configuration: ledger, dead-letter queue, engine, telemetry. */
export function buildRuntime(
  config: ConsumerConfig,
  makeDestination: (retrier: Retrier) => { destination: Destination; close(): void },
  options: RuntimeOptions = {},
): BuiltRuntime {
  const { ledger, deadLetters, retrier, requestDeadline, clients } = ledgerAndQueue(config);
  const { destination, close } = madeOrReleased(() => makeDestination(retrier), clients);
  const consumer = new ChangeConsumer({
    destination,
    ledger,
    deadLetters,
    accountsTable: config.accountsTable,
    epoch: config.epoch,
    retrier,
    requestDeadline,
    retryReserveMs: config.retryReserveMs,
    parkedAgeThresholdMs: config.parkedAgeThresholdMs,
    homeLanes: config.homeLanes,
    parallelizationFactor: config.parallelizationFactor,
    engine: {
      maxGapAgeMs: config.maxGapAgeMs,
      claimTtlMs: config.claimTtlMs,
      reserveMs: engineReserveMs(config.retryReserveMs),
      inOrderCommit: config.inOrderCommit,
      destinationEnforced: config.destinationEnforced,
      accountConcurrency: config.accountConcurrency,
    },
  });
  return {
    consumer,
    destination,
    telemetry: options.telemetry ?? new PowertoolsTelemetry({ destination: config.destination }),
    close() {
      close();
      for (const client of clients) client.destroy();
    },
  };
}

/**
 * What `make` builds; if it throws (a plug-in's settings its `createDestination` refuses), the ledger's and queue's
 * clients built before it are released first: a process that goes on (the local pipeline, a test run) keeps no sockets.
 */
function madeOrReleased<T>(make: () => T, clients: readonly { destroy(): void }[]): T {
  try {
    return make();
  } catch (error) {
    for (const client of clients) client.destroy();
    throw error;
  }
}
