import { readFileSync } from 'node:fs';
import { parsePipelineConfig } from '../infra/config/load-config';
import { PipelineConfigError, type DestinationSettings, type PipelineConfig } from '../infra/config/pipeline-config';
import { missingFaultDestination, type Fault } from './pipeline/faults';
import { KNOWN_DESTINATIONS, type RunnableDestination } from './plugins/local-destinations';

/*
 * `npm start`'s checks of what it was given, made before it starts anything: a refusal ends the command with a
 * message (`Refuse`: commander's `program.error`), never a stack trace after the emulators are up.
 */

/** Ends the command with `message`. */
export type Refuse = (message: string) => never;

/** `--fail` for a destination the run does not have ends the command before anything starts, as commander would. */
export function checkFailDestinations(faults: readonly Fault[], destinations: readonly RunnableDestination[], fail: Refuse): void {
  const missing = missingFaultDestination(faults, destinations.map(({ runtime }) => runtime.name), KNOWN_DESTINATIONS);
  if (missing !== undefined) fail(`error: option '--fail <destination:rate>' is invalid: ${missing}`);
}

/**
 * `enabled: false` pauses a destination's mapping on AWS; the local run has no paused mappings and runs every
 * destination it is given, so it says so rather than seem to honour the setting.
 */
export function pausedNotes(config: PipelineConfig, file: string, destinations: readonly RunnableDestination[]): string[] {
  return destinations.flatMap(({ runtime: { name } }) => {
    const builtIn = (config.destinations as Readonly<Record<string, DestinationSettings | undefined>>)[name];
    const path = builtIn ? `destinations.${name}` : `plugins.${name}.settings`;
    const settings = builtIn ?? config.plugins?.[name]?.settings;
    if (settings?.enabled !== false) return [];
    return [`note: ${file} sets ${path}.enabled to false, which pauses the mapping on AWS; this local run runs ${name} all the same (leave it out with --destinations)`];
  });
}

/** The `--config` file's JSON; a file that cannot be read or is not JSON ends the command, naming the file. */
export function readConfigFile(file: string, fail: Refuse): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return fail(`error: --config ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    return fail(`error: --config ${file}: not valid JSON (${(error as Error).message})`);
  }
}

/** The configuration file's settings merged over the defaults and checked; one the stack would refuse ends the command. */
export function checkedConfig(raw: unknown, file: string, fail: Refuse): PipelineConfig {
  try {
    return parsePipelineConfig(raw, file);
  } catch (error) {
    if (!(error instanceof PipelineConfigError)) throw error;
    return fail(`error: --config ${error.message}`);
  }
}


/** The destinations, built-in or plug-in, whose settings in a configuration file set `maxGapAgeSeconds`. */
export function gapAgeSetBy(raw: unknown): string[] {
  const file = raw as { destinations?: unknown; plugins?: unknown } | undefined;
  const setting = (container: unknown, settingsOf: (entry: Record<string, unknown>) => unknown): string[] =>
    typeof container === 'object' && container !== null && !Array.isArray(container)
      ? Object.entries(container).flatMap(([name, entry]) => {
          const settings = typeof entry === 'object' && entry !== null ? settingsOf(entry as Record<string, unknown>) : undefined;
          return typeof settings === 'object' && settings !== null && (settings as { maxGapAgeSeconds?: unknown }).maxGapAgeSeconds !== undefined ? [name] : [];
        })
      : [];
  return [...setting(file?.destinations, (entry) => entry), ...setting(file?.plugins, (entry) => entry.settings)];
}
