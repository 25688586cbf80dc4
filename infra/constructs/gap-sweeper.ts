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
/** A sweep may run this long; the next scheduled sweeps are refused meanwhile (reserved concurrency 1). */
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
 * - Never two sweeps at once: reserved concurrency 1. A scheduled invocation that finds the previous sweep still
 *   running waits at most a minute in Lambda's queue and is then dropped, and a failed sweep is not retried: the next
 *   tick sweeps anyway, so a slow sweep cannot pile up a backlog of invocations. Sweeps and consumers may overlap; the engine's conditional
 *   writes and claims make that safe.
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

    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.DESTROY });
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
      reservedConcurrentExecutions: 1,
      role,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
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
