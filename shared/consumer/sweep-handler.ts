import type { Context } from 'aws-lambda';
import type { DestinationName } from '../config/consumer-config';
import type { EngineCounts } from '../ordering/outcome';
import type { WaitingReport } from './waiting-report';
import { consumerInvocation, type ConsumerRuntime } from './kinesis-handler';

/**
 * The destinations with a gap sweeper (`consumers/<d>/sweeper.ts`, scheduled by the stack and run by the local
 * pipeline): `in-order` (fraud) parks records behind a missing version and `every-version` (audit) remembers versions
 * that never came. `latest-state` (search) never waits for anything, so it has nothing to sweep.
 */
export const SWEPT_DESTINATIONS: readonly DestinationName[] = ['audit', 'fraud'];

/** What one sweep came to (the same numbers go out as the batch's metrics and its `batch done` log line). */
export interface SweepResult {
  readonly destination: string;
  /** The engine's counters for the sweep: delivered (healed and drained), gap time-outs, dead letters, baselines... */
  readonly swept: EngineCounts;
  /** What still waits after the sweep (a sweep always reads it, so the waiting metrics go out without traffic). */
  readonly waiting?: WaitingReport;
  /**
   * Accounts the sweep could not finish (ledger or queue out of reach, destination not reached, out of time), each
   * with the version it waits for: their records are still parked, for the next sweep.
   */
  readonly failed: number;
  readonly durationMs: number;
}

/** A Lambda handler for a scheduled (EventBridge) event; the event itself carries nothing the sweep needs. */
export type SweepHandler = (event: unknown, context: Context) => Promise<SweepResult>;

/**
 * The gap sweeper of one destination: on a schedule, revisits every account waiting for a missing version (see
 * `ChangeConsumer.sweep`): heals or drains what has become deliverable, takes over expired claims, and past the
 * maximum gap age baselines the account or sends its waiting records to the dead-letter queue as GAP_TIMEOUT.
 *
 * The sweep is reported like a batch (`telemetry.batch`), so GapTimeouts, DeadLettered, Healed and the waiting metrics
 * (WaitingAccounts, OldestParkedAge, AccountsParkedTooLong) are emitted every time, with or without traffic.
 *
 * `build` runs once per execution environment, at the first invocation, exactly as for `createKinesisHandler` (the
 * same runtime factory, so the same configuration). Records the sweep could not settle stay parked for the next sweep;
 * anything unexpected is logged, counted as a batch error and thrown, so the invocation fails visibly.
 */
export function createSweepHandler(build: () => ConsumerRuntime | Promise<ConsumerRuntime>): SweepHandler {
  return consumerInvocation<unknown, SweepResult>(
    build,
    async ({ consumer }, _event, deadline) => {
      const batch = await consumer.sweep({ deadline });
      const result: SweepResult = {
        destination: batch.destination,
        swept: batch.counts,
        ...(batch.waiting ? { waiting: batch.waiting } : {}),
        failed: batch.failures.length,
        durationMs: batch.durationMs,
      };
      return { result, batch };
    },
    () => 0,
  );
}
