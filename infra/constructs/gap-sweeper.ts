import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { DestinationName } from '../config/pipeline-config';
import { FUNCTION_BUNDLING, PROJECT_ROOT, type DestinationConsumer } from './destination-consumer';

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
  /** @default `consumers/<destination>/sweeper.ts` */
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
  readonly destination: DestinationName;
  readonly function: nodejs.NodejsFunction;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: GapSweeperProps) {
    super(scope, id);
    const { consumer } = props;
    this.destination = consumer.destination;
    const role = consumer.function.role;
    if (!role) throw new Error(`the ${consumer.destination} consumer function has no role to share with its sweeper`);

    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    logGroup.grantWrite(role);
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      description: `ordered-fanout ${consumer.destination} gap sweeper`,
      entry: props.entry ?? `${PROJECT_ROOT}consumers/${consumer.destination}/sweeper.ts`,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: SWEEP_TIMEOUT,
      role,
      logGroup,
      bundling: FUNCTION_BUNDLING,
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
