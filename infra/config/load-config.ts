import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Construct } from 'constructs';
import { ConfigChecker, describe, isPlainObject, ROOT_PATH } from './config-checker';
import { checkAudit, checkDestination, checkIgnoredSettings, checkSearch, checkSearchDomain, type StreamFacts } from './config-rules';
import { DESTINATION_FIELDS, SCHEMA } from './config-schema';
import { deepFreeze, DEFAULT_PIPELINE_CONFIG, destinationDefaults } from './defaults';
import { checkPlugins } from './plugin-config';
import { DESTINATION_NAMES, PipelineConfigError } from './pipeline-config';
import type { DestinationSettings, PipelineConfig } from './pipeline-config';

/**
 * The stack's configuration, from where it is found (CDK context or a JSON file) to a checked, frozen `PipelineConfig`.
 * The schema walker is `config-checker.ts`, the schema `config-schema.ts`, the rules between fields `config-rules.ts`
 * and the `plugins` section `plugin-config.ts`.
 */

export { CONSUMER_RETRY_RESERVE_SECONDS } from './config-rules';
export { hasInstanceStorage, searchZones } from './config-schema';
export { isIsoTime } from '../../shared/config/formats';
export { ROOT_PATH };

/** Context key holding the configuration: an object, or the same as a JSON string (`cdk synth -c ordered-fanout=…`). */
export const CONFIG_CONTEXT_KEY = 'ordered-fanout';
/** Context key naming a JSON configuration file, relative to the working directory; excludes `CONFIG_CONTEXT_KEY`. */
export const CONFIG_FILE_CONTEXT_KEY = 'ordered-fanout:config-file';

/**
 * Merges `raw` (a partial, JSON-shaped configuration, or undefined) over `DEFAULT_PIPELINE_CONFIG` and checks every
 * value. Objects merge field by field; arrays replace. Throws the first `PipelineConfigError` found; its message names
 * `source`. Returns a deeply frozen configuration.
 * `given`: whether `raw` is as a person wrote it, or settings already merged over the defaults (then settings that
 * would be ignored cannot be told from defaults, and are not looked for).
 */
export function parsePipelineConfig(raw: unknown, source: string, now: number = Date.now(), given: 'as written' | 'merged' = 'as written'): PipelineConfig {
  const checker = new ConfigChecker(source, now);
  const { plugins, ...rest } = isPlainObject(raw) ? raw : { plugins: undefined };
  const defaults = DEFAULT_PIPELINE_CONFIG as unknown as Record<string, unknown>;
  const merged = checker.object(SCHEMA.fields, defaults, isPlainObject(raw) ? rest : raw === undefined ? {} : raw, '');
  const config = merged as unknown as PipelineConfig;
  for (const name of DESTINATION_NAMES) checkDestination(checker, `destinations.${name}`, config.destinations[name], config.stream);
  checkSearch(checker, 'destinations.search', config.destinations.search);
  checkAudit(checker, 'destinations.audit', config.destinations.audit);
  checkSearchDomain(checker, 'destinations.search', config.destinations.search);
  // Only what a person wrote tells a setting given from a default filled in (the stack hands its construct merged ones).
  if (given === 'as written') checkIgnoredSettings(checker, rest);
  return deepFreeze(plugins === undefined ? config : { ...config, plugins: checkPlugins(checker, plugins, config.stream) });
}

/** Refuses settings that would be ignored (`checkIgnoredSettings`) in `raw`, a configuration as a person wrote it. */
export function refuseIgnoredSettings(raw: unknown, source: string): void {
  checkIgnoredSettings(new ConfigChecker(source, Date.now()), raw);
}

/**
 * A plug-in destination's settings (those every destination has), merged over the defaults and checked as a built-in's
 * are: a wrong value fails synth with `destinations.<name>.<field>: ...`. Returns them deeply frozen.
 */
export function parseDestinationSettings(raw: unknown, name: string, source: string, stream: StreamFacts, now: number = Date.now()): DestinationSettings {
  const checker = new ConfigChecker(source, now);
  const path = `destinations.${name}`;
  const settings = checker.object(DESTINATION_FIELDS, destinationDefaults() as unknown as Record<string, unknown>, raw === undefined ? {} : raw, path);
  checkDestination(checker, path, settings as unknown as DestinationSettings, stream);
  return deepFreeze(settings as unknown as DestinationSettings);
}

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new PipelineConfigError(ROOT_PATH, `must be valid JSON, got ${describe(text)} (${reasonOf(error)}) (from ${source})`);
  }
}

/** The configuration file `fanout replay --apply` writes, and the bundled app reads when no context names one. */
export const DEFAULT_CONFIG_FILE = 'pipeline.json';

/**
 * The configuration of the app `scope` belongs to: the context value `ordered-fanout` (an object, or a JSON string),
 * or the JSON file named by the context value `ordered-fanout:config-file` (relative to `process.cwd()`); setting both
 * is an error. Setting neither reads `pipeline.json` in `process.cwd()` when it exists, else gives the defaults: a
 * plain `cdk deploy` after `fanout replay --apply` (which writes that file) keeps the replay's epoch and the other
 * settings there, where the defaults would quietly take the destination back to `live` and re-read the stream.
 */
export function readPipelineConfig(scope: Construct): PipelineConfig {
  const inline: unknown = scope.node.tryGetContext(CONFIG_CONTEXT_KEY);
  const named: unknown = scope.node.tryGetContext(CONFIG_FILE_CONTEXT_KEY);
  const contextSource = `CDK context "${CONFIG_CONTEXT_KEY}"`;
  const found = named === undefined && inline === undefined && existsSync(resolve(process.cwd(), DEFAULT_CONFIG_FILE));
  const file = found ? DEFAULT_CONFIG_FILE : named;
  if (file === undefined) {
    return parsePipelineConfig(typeof inline === 'string' ? parseJson(inline, contextSource) : inline, contextSource);
  }
  const fileSource = `CDK context "${CONFIG_FILE_CONTEXT_KEY}"`;
  if (inline !== undefined) {
    const message = `must not be set together with context "${CONFIG_CONTEXT_KEY}" (set one or the other), got both`;
    throw new PipelineConfigError(CONFIG_FILE_CONTEXT_KEY, `${message} (from ${fileSource})`);
  }
  if (typeof file !== 'string' || file.trim() === '') {
    throw new PipelineConfigError(CONFIG_FILE_CONTEXT_KEY, `must be the path of a JSON file, got ${describe(file)} (from ${fileSource})`);
  }
  const fullPath = resolve(process.cwd(), file);
  let content: string;
  try {
    content = readFileSync(fullPath, 'utf8');
  } catch (error) {
    const reason = reasonOf(error);
    throw new PipelineConfigError(CONFIG_FILE_CONTEXT_KEY, `must name a readable file, got ${describe(file)} (${reason}) (from ${fileSource})`);
  }
  const source = found ? `config file "${fullPath}", read because no context names a configuration` : `config file "${fullPath}", named by ${fileSource}`;
  return parsePipelineConfig(parseJson(content, source), source);
}
