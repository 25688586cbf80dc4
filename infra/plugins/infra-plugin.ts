import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { DESTINATION_NAMES, type AlarmThresholds, type DestinationSettings } from '../config/pipeline-config';
import type { DestinationOverrides } from '../ordered-fanout-props';
import type { DestinationTarget } from '../constructs/destination-target';
import { DESTINATION_NAME_PATTERN } from '../../shared/destination-plugin/runtime-plugin';

/**
 * The infrastructure half of a destination plug-in: what `OrderedFanout` builds for it besides what every destination
 * gets (an EFO consumer, a function with its role, a dead-letter queue, an on-failure bucket, the consumer alarms and,
 * unless it is `latest-state`, a gap sweeper).
 */
export interface InfraPlugin<Options = Record<string, never>, Name extends string = string> {
  /**
   * The same name as its runtime half (ledger keys, metric dimension and construct ids derive from it). A literal type
   * lets `OrderedFanout`'s `consumer(...)`, `metric*(...)` accept it and refuse names it does not have.
   */
  readonly name: Name;
  readonly mode: DeliveryMode;
  /** The consumer's handler (`pluginHandler(runtime)`), relative to the package root or absolute. */
  readonly handler: string;
  /** The gap sweeper (`pluginSweeper(runtime)`); required unless `latest-state`. */
  readonly sweeper?: string;
  /**
   * Other handlers its target deploys with `pipelineFunction` (a custom resource's, say), relative to the package
   * root: for a plug-in that ships with the package, `npm run build` bundles them with `handler` and `sweeper`.
   * @default none
   */
  readonly functions?: readonly string[];
  /**
   * Where its constructs go under the `OrderedFanout`. Only for a destination whose resources must keep the logical
   * ids they had before it was a plug-in (the built-ins keep theirs): changing an id replaces what is under it.
   * @default see `PluginConstructIds`
   */
  readonly constructIds?: PluginConstructIds;
  /**
   * Checks the options a configuration file gives it (`plugins.<name>.options`, JSON the loader cannot check: only the
   * plug-in knows its options) and returns them typed, throwing a `PipelineConfigError` that names `path` or the option
   * under it. `parsePluginOptions` (`infra/config/plugin-config.ts`) does it with the configuration's own specs and
   * messages, and refuses an unknown key, naming the option it most resembles: a misspelt option fails `cdk synth`
   * rather than being ignored. Options given in code (`pluginDestination`) are the compiler's to check.
   * @default none: the options are handed to `createTarget` as written
   */
  parseOptions?(raw: unknown, path: string): Options;
  /**
   * Creates the destination (or imports it, from `options`): the function's environment variables that its runtime
   * half's `readSettings` reads, and `grantDeliver`, the one grant its writer needs.
   */
  createTarget(scope: Construct, id: string, context: TargetContext<Options>): PluginTarget;
}

/** Construct ids of a plug-in's parts, each directly under the `OrderedFanout`. */
export interface PluginConstructIds {
  /** The target `createTarget` makes. @default `<Name>Target` (`LedgerQueueTarget`) */
  readonly target?: string;
  /** The consumer's role, made beside the consumer. @default `Role`, inside the consumer `<Name>Consumer` */
  readonly role?: string;
  /** A construct of its own for the target's `alarms`. @default the consumer alarms' construct, `<Name>Alarms` */
  readonly alarms?: string;
}

export interface TargetContext<Options> {
  readonly options: Options;
  readonly settings: DestinationSettings;
  /** Where created buckets write their server access logs. */
  readonly accessLogs: s3.IBucket;
}

/**
 * A plug-in's destination: a `DestinationTarget` that may also name alarms of its own (a queue's backlog, say) and
 * acknowledge the cdk-nag findings it keeps on purpose.
 */
export interface PluginTarget extends DestinationTarget {
  /** Its own alarms, each made with `alarm` (to the pipeline's topic, named `<pipeline>-<destination>-<id>`). @default none */
  alarms?(alarm: PluginAlarm, thresholds: AlarmThresholds): void;
  /**
   * Acknowledges the cdk-nag AwsSolutions findings on its resources, and on what `grantDeliver` gave `writer` (the
   * consumer's role), that it keeps on purpose, each with its reason (`acknowledgeFinding`, `writerPolicy` and
   * `arnToken` of `nag-suppressions.ts` help). Called once, after every consumer exists. @default none
   */
  acknowledgeNagFindings?(writer: iam.IRole): void;
}

export type PluginAlarm = (
  id: string,
  metric: cloudwatch.IMetric,
  threshold: number,
  description: string,
  options?: { evaluationPeriods?: number; comparison?: cloudwatch.ComparisonOperator },
) => cloudwatch.Alarm;

/** One plug-in destination of an `OrderedFanout`: the plug-in, its own options, and the settings every destination has. */
export interface PluginDestination<Options = Record<string, never>, Name extends string = string> {
  readonly plugin: InfraPlugin<Options, Name>;
  readonly options: Options;
  /** Batch size, retries, epoch, alarms...: as for a built-in. @default the defaults of `DestinationSettings` */
  readonly settings?: DestinationOverrides<DestinationSettings>;
}

/** Pairs a plug-in with its options, typed: `pluginDestination(ledgerQueue.infra, {})`. */
export function pluginDestination<Options, Name extends string>(
  plugin: InfraPlugin<Options, Name>,
  options: Options,
  settings?: DestinationOverrides<DestinationSettings>,
): PluginDestination<Options, Name> {
  return { plugin, options, ...(settings ? { settings } : {}) };
}


/** Plug-in names must be distinct, not a built-in's, and fit where they go (ledger keys, alarm and function names). */
export function checkPluginNames(plugins: readonly { readonly plugin: { readonly name: string } }[], path: string): void {
  const seen = new Set<string>(DESTINATION_NAMES);
  for (const { plugin } of plugins) {
    if (!DESTINATION_NAME_PATTERN.test(plugin.name)) throw new Error(`${path}: plug-in name must match ${DESTINATION_NAME_PATTERN}, got "${plugin.name}"`);
    if (seen.has(plugin.name)) throw new Error(`${path}: plug-in name "${plugin.name}" is taken (a built-in or another plug-in)`);
    seen.add(plugin.name);
  }
}
