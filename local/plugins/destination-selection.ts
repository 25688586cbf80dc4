import type { DestinationPlugin } from '../../destinations/plugin';
import { checkPlugin } from '../../destinations/plugin';
import { BUILT_IN_PLUGINS } from '../../destinations/registry';
import { DESTINATION_NAMES, type DestinationName } from '../../infra/config/pipeline-config';

/** What `--destinations` chose: the built-ins (all three, for now) and the plug-ins to add. */
export interface DestinationSelection {
  readonly builtIns: readonly DestinationName[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each plug-in has its own settings and options types
  readonly plugins: readonly DestinationPlugin<any, any>[];
}

/**
 * Parses `audit,search,fraud,ledger-queue`. The local pipeline still runs every built-in (its read-back, operator and
 * report are written for the three), so the list must name them all; plug-ins come from `BUILT_IN_PLUGINS`.
 */
export function parseDestinationList(value: string): DestinationSelection {
  const names = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
  const unknown = names.filter((name) => !(DESTINATION_NAMES as readonly string[]).includes(name) && BUILT_IN_PLUGINS[name] === undefined);
  if (unknown.length > 0) {
    throw new Error(`unknown destination ${unknown.join(', ')}; known: ${[...DESTINATION_NAMES, ...Object.keys(BUILT_IN_PLUGINS)].join(', ')}`);
  }
  if (new Set(names).size !== names.length) throw new Error(`a destination is named twice in ${value}`);
  const missing = DESTINATION_NAMES.filter((name) => !names.includes(name));
  if (missing.length > 0) throw new Error(`the local pipeline runs every built-in destination for now: add ${missing.join(', ')}`);
  const plugins = names.flatMap((name) => (BUILT_IN_PLUGINS[name] ? [BUILT_IN_PLUGINS[name]] : []));
  for (const plugin of plugins) checkPlugin(plugin);
  return { builtIns: DESTINATION_NAMES, plugins };
}
