/**
 * The package's public surface (`import { OrderedFanout } from 'ordered-fanout'`): the construct, the constructs it
 * is made of, and the settings types. Everything here is built into `dist/` by `npm run build`.
 */
export { OrderedFanout, titleOf } from './ordered-fanout';
export type {
  AuditDestinationOptions,
  DestinationOverrides,
  FraudDestinationOptions,
  OrderedFanoutDestinations,
  OrderedFanoutProps,
  SearchDestinationOptions,
} from './ordered-fanout-props';
export { OrderedFanoutStack, type DestinationSummary, type OrderedFanoutStackProps } from './ordered-fanout-stack';
export { acknowledgeFinding, arnToken, writerPolicy } from './nag-suppressions';

export { DestinationConsumer, type DestinationConsumerProps } from './constructs/destination-consumer';
export { PIPELINE_NAME_PATTERN, PipelineNameError } from './constructs/pipeline-name';
export { OutputPrefixError } from './constructs/operator-outputs';
export { CONFIG_FILE_OUTPUT, DESTINATION_OUTPUTS, PIPELINE_OUTPUT, PIPELINE_OUTPUTS } from './config/operator-outputs';
export type { DestinationTarget } from './constructs/destination-target';
export { AuditLog, type AuditLogProps } from './constructs/audit-log';
export { SearchIndex, type SearchIndexProps } from './constructs/search-index';
export { FraudBus } from './constructs/fraud-bus';
export { AccountsTable, type AccountsTableProps } from './constructs/accounts-table';
export { ChangeStream } from './constructs/change-stream';
export { LedgerTable } from './constructs/ledger-table';
export { GapSweeper, SWEPT_DESTINATIONS, type GapSweeperProps } from './constructs/gap-sweeper';
export { DestinationAlarms, type DestinationAlarmsProps } from './constructs/destination-alarms';
export { PipelineDashboard } from './constructs/pipeline-dashboard';
export { PACKAGE_ROOT } from './constructs/function-code';
export { BUILT_IN_INFRA_PLUGINS, FUNCTION_SOURCES } from './plugins/builtin-infra-plugins';
export {
  pluginDestination,
  type InfraPlugin,
  type PluginAlarm,
  type PluginConstructIds,
  type PluginDestination,
  type PluginTarget,
  type TargetContext,
} from './plugins/infra-plugin';
export { receiverQueueAlarms, type ReceiverQueueAlarmsProps } from './plugins/receiver-queue-alarms';
export { LedgerQueue, ledgerQueueInfra, type LedgerQueueOptions } from '../destinations/ledger-queue/infra';
export { auditInfra } from '../destinations/audit/infra';
export { searchInfra } from '../destinations/search/infra';
export { fraudInfra } from '../destinations/fraud/infra';

export {
  DESTINATION_NAMES,
  PipelineConfigError,
  type AlarmThresholds,
  type AuditSettings,
  type DestinationName,
  type DestinationSettings,
  type FraudSettings,
  type PipelineConfig,
  type PluginConfig,
  type SearchSettings,
  type StartingPosition,
} from './config/pipeline-config';
export { DEFAULT_PIPELINE_CONFIG } from './config/defaults';
export { parsePipelineConfig, readPipelineConfig, CONFIG_CONTEXT_KEY, CONFIG_FILE_CONTEXT_KEY } from './config/load-config';
export { option, parsePluginOptions } from './config/plugin-config';
export type { ObjectFields as PluginOptionFields } from './config/config-checker';
export { METRIC_NAMES, type MetricName } from '../shared/observability/telemetry';
