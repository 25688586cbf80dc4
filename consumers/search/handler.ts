import type { Env } from '../../shared/config/env';
import type { BuiltRuntime, RuntimeOptions } from '../../shared/consumer/runtime';
import { buildPluginRuntime, pluginHandler } from '../../shared/destination-plugin/plugin-runtime';
import { searchRuntime } from './runtime';

/** The search consumer (latest-state → OpenSearch), wired from environment variables. */
export function createSearchRuntime(env: Env = process.env, options: RuntimeOptions = {}): BuiltRuntime {
  return buildPluginRuntime(searchRuntime, env, options);
}

export const handler = pluginHandler(searchRuntime);
