import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { PipelineConfigError, type DestinationName, type PipelineConfig } from './config/pipeline-config';
import { accessLogsBucket } from './constructs/access-logs';
import { AccountsTable } from './constructs/accounts-table';
import { AuditLog } from './constructs/audit-log';
import { ChangeStream } from './constructs/change-stream';
import type { DestinationConsumer } from './constructs/destination-consumer';
import { FraudBus } from './constructs/fraud-bus';
import type { GapSweeper } from './constructs/gap-sweeper';
import { SearchIndex } from './constructs/search-index';
import { OrderedFanout } from './ordered-fanout';
import { CONFIG_FILE_OUTPUT } from './config/operator-outputs';
import { CONFIG_FILE_CONTEXT_KEY } from './config/load-config';
import { pluginDestination, type InfraPlugin, type PluginDestination } from './plugins/infra-plugin';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each plug-in has its own options type
type AnyInfraPlugin = InfraPlugin<any, string>;

export interface OrderedFanoutStackProps extends StackProps {
  readonly config: PipelineConfig;
  /**
   * The plug-ins the configuration's `plugins` section may name, by name (the bundled app: the infrastructure halves
   * of `destinations/registry.ts`). @default none: a configuration that names a plug-in is refused
   */
  readonly pluginRegistry?: Readonly<Record<string, AnyInfraPlugin>>;
}

/** One destination of the stack as the `Destinations` output lists it; `fanout` reads the list. */
export interface DestinationSummary {
  readonly name: string;
  readonly mode: DestinationConsumer['mode'];
}

/**
 * The bundled app's stack: one `OrderedFanout` with the three destinations and the configuration's plug-ins,
 * configured from `PipelineConfig`, and the outputs the operations tooling (`fanout`) reads.
 *
 * The table, stream, access-log bucket and built-in destinations are made here and handed to the construct, which
 * takes them as its "existing" ones; the construct's id `Default` adds nothing to logical ids. Together these keep every
 * resource's logical id, and the construct tree the tests walk, as they were before the construct existed: a
 * deployed stack updates in place.
 */
export class OrderedFanoutStack extends Stack {
  readonly pipeline: OrderedFanout<string>;
  /** The built-ins' consumers; a plug-in's is `pipeline.consumer(name)`. */
  readonly consumers: Readonly<Record<DestinationName, DestinationConsumer>>;
  /** The gap sweepers, one per destination that waits on gaps (every mode but `latest-state`). */
  readonly sweepers: Readonly<Partial<Record<string, GapSweeper>>>;
  readonly alarmTopic: sns.ITopic;

  constructor(scope: Construct, id: string, props: OrderedFanoutStackProps) {
    super(scope, id, props);
    // Set here too, not only in the construct: the access-log bucket below is the stack's.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    this.node.setContext('@aws-cdk/customresources:installLatestAwsSdkDefault', false);
    const { config } = props;

    const accessLogs = accessLogsBucket(this);
    const changeStream = new ChangeStream(this, 'ChangeStream', { config: config.stream });
    const accounts = new AccountsTable(this, 'Accounts', { changeStream: changeStream.stream, config: config.accountsTable });
    const { audit, search, fraud } = config.destinations;
    const auditLog = new AuditLog(this, 'AuditLog', { settings: audit, accessLogs });
    const searchIndex = new SearchIndex(this, 'SearchIndex', { settings: search });
    const fraudBus = new FraudBus(this, 'FraudBus', { settings: fraud });

    this.pipeline = new OrderedFanout(this, 'Default', {
      table: accounts.table,
      stream: changeStream.stream,
      streamSettings: config.stream,
      accessLogsBucket: accessLogs,
      alarmEmails: config.alarmEmails,
      destinations: {
        audit: { ...audit, target: auditLog },
        search: { ...search, target: searchIndex },
        fraud: { ...fraud, target: fraudBus },
      },
      plugins: configuredPlugins(config, props.pluginRegistry ?? {}),
    });
    this.consumers = this.pipeline.consumers as Record<DestinationName, DestinationConsumer>;
    this.sweepers = this.pipeline.sweepers;
    this.alarmTopic = this.pipeline.alarmTopic;

    // What `fanout` reads (the same output keys as before the construct published them), and that this stack's
    // settings live in its configuration file, which `fanout replay --apply` writes.
    this.pipeline.addOperatorOutputs();
    new CfnOutput(this, CONFIG_FILE_OUTPUT, { value: CONFIG_FILE_CONTEXT_KEY });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
    new CfnOutput(this, 'AuditBucketName', { value: auditLog.bucket.bucketName });
    new CfnOutput(this, 'SearchEndpoint', { value: searchIndex.domainEndpoint });
    new CfnOutput(this, 'SearchIndexName', { value: searchIndex.index });
    if (searchIndex.operatorRole) new CfnOutput(this, 'SearchOperatorRoleArn', { value: searchIndex.operatorRole.roleArn });
    new CfnOutput(this, 'FraudEventBusArn', { value: fraudBus.bus.eventBusArn });
  }
}

/**
 * The configuration's `plugins`, each resolved by name in `registry`; a name it lacks is a configuration error. Each
 * one's options go through its `parseOptions` when it has one (the loader cannot check them: it does not know the
 * plug-ins).
 */
export function configuredPlugins(config: PipelineConfig, registry: Readonly<Record<string, AnyInfraPlugin>>): PluginDestination<unknown, string>[] {
  return Object.entries(config.plugins ?? {}).map(([name, { options, settings }]) => {
    const plugin = Object.hasOwn(registry, name) ? registry[name] : undefined;
    if (plugin === undefined) {
      const known = Object.keys(registry).join(', ') || 'none';
      throw new PipelineConfigError(`plugins.${name}`, `must name a plug-in of this app (it has: ${known}), got "${name}"`);
    }
    if (plugin.name !== name) throw new Error(`plug-in registry: "${name}" holds the plug-in ${plugin.name}`);
    const checked: unknown = plugin.parseOptions ? plugin.parseOptions(options, `plugins.${name}.options`) : options;
    return pluginDestination(plugin, checked, settings);
  });
}
