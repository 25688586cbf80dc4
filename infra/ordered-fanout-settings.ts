import { parseDestinationSettings, parsePipelineConfig, refuseIgnoredSettings } from './config/load-config';
import { DESTINATION_NAMES, type DestinationName, type DestinationSettings, type PipelineConfig } from './config/pipeline-config';
import { retentionHoursOf } from './constructs/change-stream';
import type { DestinationTarget } from './constructs/destination-target';
import type { OrderedFanoutProps } from './ordered-fanout-props';
import { BUILT_IN_INFRA_PLUGINS } from './plugins/builtin-infra-plugins';
import { checkPluginNames, type InfraPlugin } from './plugins/infra-plugin';

/*
 * What an `OrderedFanout`'s props ask for, read and checked the way the bundled app checks its configuration file:
 * the destinations named, within what one stream's consumers allow; the settings merged over the defaults; and each
 * destination, built-in or plug-in, resolved to the plug-in that builds it. Apart from the construct, which builds
 * from these and does not read the props' settings itself.
 */

/** Consumers one Kinesis stream takes (RegisterStreamConsumer). */
const MAX_STREAM_CONSUMERS = 20;
/** Destinations one stack feeds: one consumer each, and one free for a replay's switch-over. */
export const MAX_DESTINATIONS = MAX_STREAM_CONSUMERS - 1;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each plug-in has its own options type
export type AnyInfraPlugin = InfraPlugin<any, string>;

/** A destination of the props, built-in or plug-in, as the construct builds it. */
export interface ResolvedDestination {
  readonly plugin: AnyInfraPlugin;
  readonly options: unknown;
  /** Every setting, defaults included and checked. */
  readonly settings: DestinationSettings;
  /** A built-in's `target` of the props, built by the user: then the plug-in creates nothing. */
  readonly target: DestinationTarget | undefined;
}

/**
 * The built-in destinations the props name. Refuses props that name no destination at all, more than a stream's
 * consumers leave room for, or a plug-in under a name that is not free.
 */
export function destinationNamesOf(props: OrderedFanoutProps<string>, path: string): DestinationName[] {
  const names = DESTINATION_NAMES.filter((name) => props.destinations[name] !== undefined);
  const plugins = props.plugins ?? [];
  if (names.length === 0 && plugins.length === 0) {
    throw new Error(`${path}: name at least one destination (${DESTINATION_NAMES.join(', ')}) or plug-in`);
  }
  // Kinesis registers at most 20 consumers of a stream; a replay's new consumer is registered before the old one
  // goes, so one must stay free.
  if (names.length + plugins.length > MAX_DESTINATIONS) {
    throw new Error(
      `${path}: ${names.length + plugins.length} destinations, each with its own EFO consumer: a Kinesis stream takes ` +
        `${MAX_STREAM_CONSUMERS} consumers, and a replay needs one free for its new consumer while the old one still runs, so at most ${MAX_DESTINATIONS}`,
    );
  }
  checkPluginNames(plugins, path);
  return names;
}

/** The props' settings merged over the defaults and checked, as the bundled app checks its configuration file. */
export function settingsOf(props: OrderedFanoutProps<string>, names: readonly DestinationName[], path: string): PipelineConfig {
  const withoutTarget = (options: object): object => Object.fromEntries(Object.entries(options).filter(([key]) => key !== 'target'));
  const source = `the props of ${path}`;
  const config = parsePipelineConfig(
    {
      ...(props.tableSettings ? { accountsTable: props.tableSettings } : {}),
      ...streamSettingsOf(props),
      ...(props.alarmEmails ? { alarmEmails: props.alarmEmails } : {}),
      destinations: Object.fromEntries(names.map((name) => [name, withoutTarget(props.destinations[name] ?? {})])),
    },
    source,
    Date.now(),
    // Settings merged over the defaults may come in (the bundled stack passes its own so, each with its target).
    'merged',
  );
  // A destination given its target creates nothing, so only the others' settings can be ignored ones.
  const untargeted = names.filter((name) => props.destinations[name]?.target === undefined);
  refuseIgnoredSettings({ destinations: Object.fromEntries(untargeted.map((name) => [name, props.destinations[name]])) }, source);
  return config;
}

/** One path for every destination: a built-in is its plug-in with its settings as options. */
export function resolvedDestinations(
  props: OrderedFanoutProps<string>,
  names: readonly DestinationName[],
  config: PipelineConfig,
  path: string,
): ResolvedDestination[] {
  return [
    ...names.map((name) => ({
      plugin: BUILT_IN_INFRA_PLUGINS[name] as AnyInfraPlugin,
      options: config.destinations[name],
      settings: config.destinations[name],
      target: props.destinations[name]?.target,
    })),
    ...(props.plugins ?? []).map(({ plugin, options, settings }) => ({
      plugin,
      options,
      settings: parseDestinationSettings(settings, plugin.name, `the props of ${path}`, config.stream),
      target: undefined,
    })),
  ];
}

/**
 * The stream's settings as the checks need them. With a stream of the user's own, only its retention counts (a replay
 * from TRIM_HORIZON reaches that far back): `streamSettings.retentionHours` when given, else the stream's own when it
 * is defined in this app; an imported stream is taken to keep the longest Kinesis allows (the default), so a record-age
 * limit shorter than that is refused rather than left to drop a replay's oldest records.
 */
function streamSettingsOf(props: OrderedFanoutProps<string>): { stream?: Partial<PipelineConfig['stream']> } {
  if (props.stream === undefined) return props.streamSettings ? { stream: props.streamSettings } : {};
  const retentionHours = props.streamSettings?.retentionHours ?? retentionHoursOf(props.stream);
  return retentionHours === undefined ? {} : { stream: { retentionHours } };
}
