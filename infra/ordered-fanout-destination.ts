import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { titleOf } from './config/operator-outputs';
import { DestinationAlarms } from './constructs/destination-alarms';
import { DestinationConsumer } from './constructs/destination-consumer';
import { GapSweeper } from './constructs/gap-sweeper';
import type { LedgerTable } from './constructs/ledger-table';
import { topicAlarm } from './constructs/topic-alarm';
import type { ResolvedDestination } from './ordered-fanout-settings';
import type { PluginTarget } from './plugins/infra-plugin';

/*
 * One destination of an `OrderedFanout`: its target, its consumer with the consumer's alarms and the target's own,
 * and its gap sweeper. What every destination gets alike, kept apart from the construct, which builds what the
 * destinations share and one of these per destination. Everything is made directly under the `OrderedFanout`
 * (`pipeline`), so the construct ids, and the logical ids under them, are the ones it always had.
 */

/** The `OrderedFanout` a destination is built in, and what of it the destination is built on. */
export interface DestinationPipeline extends Construct {
  readonly pipelineName: string;
  readonly stream: kinesis.IStream;
  readonly table: dynamodb.ITable;
  readonly ledger: LedgerTable;
  readonly alarmTopic: sns.ITopic;
}

export interface BuiltDestination {
  readonly target: PluginTarget;
  readonly consumer: DestinationConsumer;
  readonly sweeper?: GapSweeper;
}

/**
 * One destination: its target (the user's, or the plug-in's), its consumer with the consumer alarms and the target's
 * own, and a gap sweeper unless it is `latest-state`.
 */
export function addDestination(
  pipeline: DestinationPipeline,
  { plugin, options, settings, target: given }: ResolvedDestination,
  accessLogs: s3.IBucket,
): BuiltDestination {
  const { name, mode, constructIds: ids = {} } = plugin;
  const title = titleOf(name);
  const target: PluginTarget = given ?? plugin.createTarget(pipeline, ids.target ?? `${title}Target`, { options, settings, accessLogs });
  const consumer = new DestinationConsumer(pipeline, `${title}Consumer`, {
    destination: name,
    pipelineName: pipeline.pipelineName,
    mode,
    settings,
    stream: pipeline.stream,
    accountsTable: pipeline.table,
    ledger: pipeline.ledger,
    target,
    ...(ids.role === undefined ? {} : { role: consumerRole(pipeline, ids.role, name) }),
    accessLogs,
    entry: plugin.handler,
  });
  const alarms = new DestinationAlarms(pipeline, `${title}Alarms`, { consumer, thresholds: settings.alarms, topic: pipeline.alarmTopic });
  // The target's own alarms sit with the consumer's (or in a construct of their own): same topic, same
  // `<pipeline>-<destination>-<id>` names. The construct is made only if there are any.
  let group: Construct | undefined;
  target.alarms?.(
    (id, metric, threshold, description, more = {}) => {
      group ??= ids.alarms === undefined ? alarms : new Construct(pipeline, ids.alarms);
      const named = { pipelineName: pipeline.pipelineName, name: `${name}-${id}` };
      return topicAlarm(group, id, { ...named, metric, threshold, description, topic: pipeline.alarmTopic, ...more });
    },
    settings.alarms,
  );
  if (mode === 'latest-state') return { target, consumer };
  return { target, consumer, sweeper: createSweeper(pipeline, consumer, settings.enabled, plugin.sweeper) };
}

/** A consumer's role made beside it rather than in it (`PluginConstructIds.role`). */
function consumerRole(pipeline: DestinationPipeline, id: string, name: string): iam.Role {
  return new iam.Role(pipeline, id, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `ordered-fanout ${name} consumer: its own EFO consumer, ledger keys, destination and dead-letter queue`,
  });
}

function createSweeper(pipeline: DestinationPipeline, consumer: DestinationConsumer, enabled: boolean, entry: string | undefined): GapSweeper {
  const name = consumer.destination;
  if (entry === undefined) throw new Error(`${pipeline.node.path}: plug-in ${name} is ${consumer.mode}: it needs a sweeper (InfraPlugin.sweeper)`);
  const sweeper = new GapSweeper(pipeline, `${titleOf(name)}Sweeper`, { consumer, enabled, entry });
  // A broken sweeper is silent exactly when it matters: an idle stream with records parked.
  // Through `topicAlarm` like every other alarm: to the topic on ALARM and on OK (it went on ALARM only, so its
  // recovery never reached the operator).
  topicAlarm(pipeline, `${titleOf(name)}SweeperErrors`, {
    pipelineName: pipeline.pipelineName,
    name: `${name}-SweeperErrors`,
    description: 'The gap sweeper failed: parked records are not revisited and the waiting metrics stop',
    metric: sweeper.function.metricErrors({ period: Duration.minutes(5) }),
    threshold: 1,
    topic: pipeline.alarmTopic,
  });
  return sweeper;
}
