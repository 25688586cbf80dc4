import type { Env } from '../shared/config/env';
import { DESTINATION_CLIENT_DEFAULTS, endpointOptions, timeBoundRequestHandler } from '../shared/consumer/clients';
import type { AdapterContext, RuntimePlugin } from '../shared/destination-plugin/runtime-plugin';
import { Retrier } from '../shared/retry/retrier';
import type { PipelineTarget } from './target';

/**
 * The runtime halves `fanout` can run in its own process (for `reconcile --contents` and `--repair`): the built-ins'
 * and those of the plug-ins that ship with the package (`destinations/registry.ts`). A plug-in of your own CDK app is
 * not known here; pass it as `runtimes` to the command (tests do), or its contents are not read.
 *
 * Imported lazily: the registry pulls in the plug-ins' infrastructure halves (aws-cdk-lib), which most commands never
 * need, and `fanout status` should start fast.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each plug-in has its own settings type
export type AnyRuntimePlugin = RuntimePlugin<any>;

export async function runtimeOf(name: string, overrides: Readonly<Record<string, AnyRuntimePlugin>> = {}): Promise<AnyRuntimePlugin | undefined> {
  if (Object.hasOwn(overrides, name)) return overrides[name];
  switch (name) {
    case 'audit':
      return (await import('../consumers/audit/runtime')).auditRuntime;
    case 'search':
      return (await import('../consumers/search/runtime')).searchRuntime;
    case 'fraud':
      return (await import('../consumers/fraud/runtime')).fraudRuntime;
    default: {
      const { BUILT_IN_PLUGINS } = await import('../destinations/registry');
      return Object.hasOwn(BUILT_IN_PLUGINS, name) ? BUILT_IN_PLUGINS[name]?.runtime : undefined;
    }
  }
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
