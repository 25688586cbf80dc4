import { readConsumerConfig } from '../config/consumer-config';
import type { Env } from '../config/env';
import { DESTINATION_CLIENT_DEFAULTS, endpointOptions, timeBoundRequestHandler } from '../consumer/clients';
import { createKinesisHandler, type KinesisHandler } from '../consumer/kinesis-handler';
import { buildRuntime, type BuiltRuntime, type RuntimeOptions } from '../consumer/runtime';
import { createSweepHandler, type SweepHandler } from '../consumer/sweep-handler';
import { url } from '../config/env';
import type { AdapterContext, RuntimePlugin } from './runtime-plugin';

/** A plug-in's consumer wired from environment variables: the same engine, ledger and queue as every destination. */
export function buildPluginRuntime<S>(plugin: RuntimePlugin<S>, env: Env = process.env, options: RuntimeOptions = {}): BuiltRuntime {
  const config = readConsumerConfig(plugin.name, env);
  const settings = plugin.readSettings(env);
  return buildRuntime(
    config,
    (retrier) => {
      const context: AdapterContext = {
        retrier,
        region: config.region,
        clientConfig: (endpointVariable) => ({
          ...DESTINATION_CLIENT_DEFAULTS,
          region: config.region,
          requestHandler: timeBoundRequestHandler(),
          ...endpointOptions(endpointVariable === undefined ? undefined : url(env, endpointVariable)),
        }),
      };
      const built = plugin.createDestination(settings, context);
      if (built.destination.mode !== plugin.mode || built.destination.name !== plugin.name) {
        built.close();
        throw new Error(`plug-in ${plugin.name} (${plugin.mode}) built ${built.destination.name} (${built.destination.mode})`);
      }
      return built;
    },
    options,
  );
}

/** The Lambda handler of a plug-in's consumer: `export const handler = pluginHandler(myPlugin)`. */
export function pluginHandler<S>(plugin: RuntimePlugin<S>): KinesisHandler {
  return createKinesisHandler(() => buildPluginRuntime(plugin));
}

/** The gap sweeper of an `in-order` or `every-version` plug-in (`latest-state` never waits, so it has none). */
export function pluginSweeper<S>(plugin: RuntimePlugin<S>): SweepHandler {
  if (plugin.mode === 'latest-state') throw new Error(`plug-in ${plugin.name} is latest-state: it has nothing to sweep`);
  return createSweepHandler(() => buildPluginRuntime(plugin));
}
