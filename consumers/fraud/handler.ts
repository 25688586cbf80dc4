import type { Env } from '../../shared/config/env';
import type { BuiltRuntime, RuntimeOptions } from '../../shared/consumer/runtime';
import { buildPluginRuntime, pluginHandler } from '../../shared/destination-plugin/plugin-runtime';
import { fraudRuntime } from './runtime';

/** The fraud consumer (in-order → EventBridge), wired from environment variables. */
export function createFraudRuntime(env: Env = process.env, options: RuntimeOptions = {}): BuiltRuntime {
  return buildPluginRuntime(fraudRuntime, env, options);
}

export const handler = pluginHandler(fraudRuntime);
