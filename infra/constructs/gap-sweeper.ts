import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { DestinationName } from '../config/pipeline-config';
import type { PluginName } from '../../shared/config/consumer-config';
import type { DestinationConsumer } from './destination-consumer';
import { pipelineFunction } from './function-code';

/** audit and fraud: the destinations that wait on gaps (search, `latest-state`, never does). */
export { SWEPT_DESTINATIONS } from '../../shared/consumer/sweep-handler';

/** Fixed on purpose: how often waiting accounts are revisited, and so how late past `maxGapAgeSeconds` a gap times out. */
export const SWEEP_SCHEDULE = events.Schedule.rate(Duration.minutes(1));
/** A sweep may run this long; a sweep still running when the next tick comes overlaps it (see the class comment). */
export const SWEEP_TIMEOUT = Duration.minutes(5);

export interface GapSweeperProps {
  /** The destination's consumer: the sweeper runs with its role and its environment (its ledger keys and queue). */
  readonly consumer: DestinationConsumer;
  /** `false` while the destination is paused (`destinations.<d>.enabled`): see the class comment. */
  readonly enabled: boolean;
  /** The handler, relative to the package root. @default `consumers/<destination>/sweeper.ts` */
  readonly entry?: string;
}

/**
 * One destination's gap sweeper: a function running `consumers/<destination>/sweeper.ts` every minute, so accounts
 * waiting for a missing version are healed, drained, or timed out (GAP_TIMEOUT letters) after the maximum gap age,
 * and the waiting metrics go out, even when no traffic arrives.
 *
 * - It runs as the consumer: the consumer's role (the same ledger keys, destination and dead-letter queue grants,
 *   nothing more) and the consumer's environment, bundled the same way, on its own log group.
 * - No reserved concurrency: a new account (quota 10, of which Lambda keeps the unreserved minimum) cannot reserve
 *   even 1. A sweep slower than a minute therefore overlaps the next one, at most `SWEEP_TIMEOUT` / one minute of them;
 *   sweeps, like sweeps and consumers, may overlap because every change to an account goes through its claim and
 *   conditional writes. A failed or throttled sweep is not retried and an event waits at most a minute: the next tick
 *   sweeps anyway, so no backlog of invocations builds up.
 * - The schedule is fixed (every minute, `SWEEP_SCHEDULE`): a gap times out at most about a minute after
 *   `maxGapAgeSeconds`. It is disabled while the destination is paused, because the missing versions then still sit
 *   unread in the stream and timing their successors out would send them to the dead-letter queue for nothing.
 */
export class GapSweeper extends Construct {
  readonly destination: DestinationName | PluginName;
  readonly function: lambda.Function;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: GapSweeperProps) {
    super(scope, id);
    const { consumer } = props;
    this.destination = consumer.destination;
    const role = consumer.role;

    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    logGroup.grantWrite(role);
    this.function = pipelineFunction(this, 'Function', {
      source: props.entry ?? `consumers/${consumer.destination}/sweeper.ts`,
      description: `ordered-fanout ${consumer.destination} gap sweeper`,
      memorySize: 512,
      timeout: SWEEP_TIMEOUT,
      role,
      logGroup,
      environment: { ...consumer.environment },
    });
    // Scheduled invocations are asynchronous: a failed or throttled sweep is not retried, the next tick replaces it.
    this.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });

    this.rule = new events.Rule(this, 'Schedule', {
      description: `ordered-fanout ${consumer.destination}: sweep accounts waiting for a missing version`,
      schedule: SWEEP_SCHEDULE,
      enabled: props.enabled,
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 2, maxEventAge: Duration.minutes(1) })],
    });
  }
}
