import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Env } from '../shared/config/env';
import { DESTINATION_CLIENT_DEFAULTS, endpointOptions, timeBoundRequestHandler } from '../shared/consumer/clients';
import { isShipped, loadRuntime, type AnyRuntimePlugin } from '../destinations/runtime-registry';
import { DESTINATION_NAME_PATTERN, type AdapterContext } from '../shared/destination-plugin/runtime-plugin';
import { Retrier } from '../shared/retry/retrier';
import type { PipelineTarget } from './target';

export type { AnyRuntimePlugin };

/**
 * The runtime half `fanout` runs in its own process for a destination (`reconcile --contents` and `--repair`): one of
 * `overrides` (a plug-in of your own CDK app, which `fanout` does not ship; tests pass theirs), else a shipped one
 * (`destinations/runtime-registry.ts`), else undefined: its contents are not read.
 */
export async function runtimeOf(name: string, overrides: Readonly<Record<string, AnyRuntimePlugin>> = {}): Promise<AnyRuntimePlugin | undefined> {
  if (Object.hasOwn(overrides, name)) return overrides[name];
  return isShipped(name) ? loadRuntime(name) : undefined;
}

/** A `--runtime` module that does not give `fanout` a runtime half it can use. */
export class RuntimeModuleError extends Error {
  constructor(
    readonly module: string,
    detail: string,
  ) {
    super(`--runtime ${module}: ${detail}`);
    this.name = 'RuntimeModuleError';
  }
}

const isRuntimePlugin = (value: unknown): value is AnyRuntimePlugin => {
  const candidate = value as Partial<AnyRuntimePlugin> | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.name === 'string' && typeof candidate.mode === 'string' && typeof candidate.readSettings === 'function' && typeof candidate.createDestination === 'function';
};

/**
 * The runtime halves of your own plug-ins, from their modules (`fanout reconcile --runtime ./my-destination/runtime.ts`):
 * every export of each module that is a `RuntimePlugin` (its default export or named ones), by name. A module with
 * none, an invalid name, or one name from two exports is refused before anything is read.
 */
export async function loadRuntimeModules(modules: readonly string[], cwd = process.cwd()): Promise<Record<string, AnyRuntimePlugin>> {
  const found: Record<string, AnyRuntimePlugin> = {};
  for (const module of modules) {
    let exports: Record<string, unknown>;
    try {
      exports = (await import(pathToFileURL(resolve(cwd, module)).href)) as Record<string, unknown>;
    } catch (error) {
      throw new RuntimeModuleError(module, `cannot be loaded: ${(error as Error).message}`);
    }
    const plugins = [...new Set(Object.values(exports).filter(isRuntimePlugin))];
    if (plugins.length === 0) throw new RuntimeModuleError(module, 'exports no runtime half (an object with name, mode, readSettings and createDestination)');
    for (const plugin of plugins) {
      if (!DESTINATION_NAME_PATTERN.test(plugin.name)) throw new RuntimeModuleError(module, `exports a runtime half named "${plugin.name}", which is not a destination name`);
      if (Object.hasOwn(found, plugin.name) && found[plugin.name] !== plugin) throw new RuntimeModuleError(module, `exports a second runtime half named ${plugin.name}`);
      found[plugin.name] = plugin;
    }
  }
  return found;
}

/**
 * What a runtime half's `createDestination` and `reconcileReader` get, here in the CLI: the function's environment
 * decides the endpoints (a local run points them at the emulators), as in the function. Two more attempts per request
 * than the function makes: a reconcile reads every account, and one transient error should not end it.
 */
export async function adapterContext(target: PipelineTarget, env: Env): Promise<AdapterContext> {
  const region = await target.dynamodb.config.region();
  // Locally the function's own (emulator) credentials; on AWS the operator's, from the usual chain.
  const credentials =
    target.kind === 'local' && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } }
      : {};
  return {
    retrier: new Retrier(),
    region,
    clientConfig: (endpointVariable) => ({
      ...DESTINATION_CLIENT_DEFAULTS,
      maxAttempts: 3,
      region,
      ...credentials,
      requestHandler: timeBoundRequestHandler(),
      ...endpointOptions(endpointVariable === undefined ? undefined : env[endpointVariable]),
    }),
  };
}
