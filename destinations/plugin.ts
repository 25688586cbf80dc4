import type { InfraPlugin } from '../infra/plugins/infra-plugin';
import type { LocalPlugin } from '../local/plugins/local-plugin';
import type { RuntimePlugin } from '../shared/destination-plugin/runtime-plugin';

/**
 * A destination plug-in, all of it (README, *Write your own destination*):
 * - `runtime`: its mode, how it writes a batch through the `Destination` port and answers per record, and the settings
 *   it reads from its function's environment (no `aws-cdk-lib` here: it is what Lambda bundles);
 * - `infra`: its handler and sweeper modules, the resource it creates or imports, the one grant its writer needs, and
 *   its own alarms;
 * - `local`: its emulator or stand-in for `npm start -- --destinations ...,<name>`, and how to read it back.
 * The halves must agree on `name` and `mode`; `checkPlugin` says so at start-up.
 */
export interface DestinationPlugin<Settings = unknown, Options = Record<string, never>, Name extends string = string> {
  readonly runtime: RuntimePlugin<Settings>;
  readonly infra: InfraPlugin<Options, Name>;
  readonly local?: LocalPlugin;
}

/** Only what the halves must agree on: any settings and options types pass (`parseOptions` makes `Options` invariant). */
type PluginHalves = {
  readonly runtime: Pick<RuntimePlugin<unknown>, 'name' | 'mode'>;
  readonly infra: Pick<InfraPlugin<unknown>, 'name' | 'mode' | 'sweeper'>;
};

export function checkPlugin(plugin: PluginHalves): void {
  const { runtime, infra } = plugin;
  if (runtime.name !== infra.name || runtime.mode !== infra.mode) {
    throw new Error(`plug-in halves disagree: runtime ${runtime.name} (${runtime.mode}), infra ${infra.name} (${infra.mode})`);
  }
  if (infra.mode !== 'latest-state' && infra.sweeper === undefined) throw new Error(`plug-in ${infra.name} (${infra.mode}) needs a sweeper`);
}
