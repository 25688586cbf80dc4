import type { Env } from '../shared/config/env';
import { DESTINATION_CLIENT_DEFAULTS, endpointOptions, timeBoundRequestHandler } from '../shared/consumer/clients';
import { isShipped, loadRuntime, type AnyRuntimePlugin } from '../destinations/runtime-registry';
import type { AdapterContext } from '../shared/destination-plugin/runtime-plugin';
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
