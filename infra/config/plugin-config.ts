import { bool, ConfigChecker, describe, int, isPlainObject, join, oneOf, suggest, text, type ObjectFields } from './config-checker';
import { checkDestination, type StreamFacts } from './config-rules';
import { ARN, DESTINATION_FIELDS } from './config-schema';
import { deepFreeze, destinationDefaults } from './defaults';
import { DESTINATION_NAMES, type DestinationSettings, type PluginConfig } from './pipeline-config';

/**
 * The configuration's `plugins` section: per plug-in name, its settings (those every destination has, checked as a
 * built-in's) and its options (the plug-in's own: any JSON object here; its `InfraPlugin.parseOptions` checks them
 * where the stack resolves the name, since only the plug-in knows them).
 */
export function checkPlugins(checker: ConfigChecker, raw: unknown, stream: StreamFacts): Record<string, PluginConfig> {
  if (!isPlainObject(raw)) checker.fail('plugins', `must be an object of plug-in destinations by name, got ${describe(raw)}`);
  return Object.fromEntries(
    Object.entries(raw).map(([name, entry]) => {
      const path = `plugins.${name}`;
      if ((DESTINATION_NAMES as readonly string[]).includes(name)) checker.fail(path, `is a built-in destination: configure it under destinations.${name}`);
      const { options = {}, settings: rawSettings, ...unknown } = isPlainObject(entry) ? entry : checker.fail(path, `must be an object, got ${describe(entry)}`);
      for (const key of Object.keys(unknown)) {
        const guess = suggest(key, ['options', 'settings']);
        checker.fail(join(path, key), guess === undefined ? 'unknown setting; expected one of options, settings' : `unknown setting; did you mean ${guess}?`);
      }
      if (!isPlainObject(options)) checker.fail(`${path}.options`, `must be an object, got ${describe(options)}`);
      const settings = checker.object(DESTINATION_FIELDS, destinationDefaults() as unknown as Record<string, unknown>, rawSettings ?? {}, `${path}.settings`);
      checkDestination(checker, `${path}.settings`, settings as unknown as DestinationSettings, stream);
      return [name, { options, settings: settings as unknown as DestinationSettings }];
    }),
  );
}

/** Field specs for `parsePluginOptions`: the ones the rest of the configuration is checked with. */
export const option = { int, bool, oneOf, text, arn: ARN } as const;

/**
 * For an `InfraPlugin.parseOptions`: `raw` checked against one spec per option (`option.*`), as the rest of the
 * configuration is. A key `fields` lacks is refused, naming the option it most resembles; a wrong value, or a `required`
 * option left out, is refused naming its path (`plugins.<name>.options.<option>`) with a `PipelineConfigError`.
 * Returns the options, frozen.
 */
export function parsePluginOptions<Options>(raw: unknown, path: string, fields: ObjectFields<Options>, required: readonly (keyof Options & string)[] = []): Options {
  const checker = new ConfigChecker(undefined);
  const options = checker.object(fields, {}, raw === undefined ? {} : raw, path);
  for (const key of required) if (options[key] === undefined) checker.fail(join(path, key), 'is required, got nothing');
  return deepFreeze(options as Options);
}
