import type { Env } from '../../shared/config/env';
import type { BuiltRuntime, RuntimeOptions } from '../../shared/consumer/runtime';
import { buildPluginRuntime, pluginHandler } from '../../shared/destination-plugin/plugin-runtime';
import { auditRuntime } from './runtime';

/** The audit consumer (every-version → S3), wired from environment variables. */
export function createAuditRuntime(env: Env = process.env, options: RuntimeOptions = {}): BuiltRuntime {
  return buildPluginRuntime(auditRuntime, env, options);
}

export const handler = pluginHandler(auditRuntime);
