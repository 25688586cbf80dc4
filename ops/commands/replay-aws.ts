import { replayReadStart } from '../../infra/config/consumer-environment';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_FILE_CONTEXT_KEY, parsePipelineConfig } from '../../infra/config/load-config';
import type { DestinationSettings } from '../../infra/config/pipeline-config';
import { isBuiltIn } from '../destinations';
import type { CommandIO } from '../io';

/** The stack configuration file `fanout replay` writes when `--config` is not given. */
const DEFAULT_STACK = 'OrderedFanout';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface AwsReplayRequest {
  /** A built-in (`destinations.<d>` in the file) or a plug-in the file already configures (`plugins.<d>.settings`). */
  readonly destination: string;
  readonly epoch: string;
  /** ISO time, normalised. */
  readonly from: string;
  readonly replayBefore: string;
  readonly stack: string;
  readonly configFile: string;
  readonly deploy?: (args: string[]) => Promise<number>;
}

export interface AwsReplayOutcome {
  /** The configuration file written (absolute), when it was. */
  readonly configFile?: string;
  readonly created?: boolean;
  /** The arguments given to `cdk`. */
  readonly deployArgs?: readonly string[];
  readonly exitCode: number;
}

/**
 * Writes the replay into the stack configuration file (the destination's `epoch`, `startingPosition: AT_TIMESTAMP`,
 * `startingPositionTimestamp` and `replayBefore`; every other setting kept), checks the result as `cdk synth` would,
 * and deploys it. CloudFormation then creates the new EFO consumer and mapping and removes the old ones.
 */
export async function applyAwsReplay(request: AwsReplayRequest, io: CommandIO): Promise<AwsReplayOutcome> {
  const file = resolve(request.configFile);
  const created = !existsSync(file);
  let raw: unknown = {};
  if (!created) {
    try {
      raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    } catch (error) {
      io.err(`replay: ${file} is not a readable JSON file: ${error instanceof Error ? error.message : String(error)}`);
      return { exitCode: 2 };
    }
  }
  if (!isObject(raw)) {
    io.err(`replay: ${file} must hold a JSON object (the stack configuration)`);
    return { exitCode: 2 };
  }
  const replaySettings = {
    epoch: request.epoch,
    startingPosition: 'AT_TIMESTAMP',
    startingPositionTimestamp: replayReadStart(request.from),
    replayFrom: request.from,
    replayBefore: request.replayBefore,
  };
  let next: Record<string, unknown>;
  if (isBuiltIn(request.destination)) {
    const destinations = isObject(raw.destinations) ? raw.destinations : {};
    const existing = destinations[request.destination];
    next = { ...raw, destinations: { ...destinations, [request.destination]: { ...(isObject(existing) ? existing : {}), ...replaySettings } } };
  } else {
    // Only a plug-in the file already configures: writing a new entry would deploy it with default options (a queue
    // it imports would be created instead), so the operator adds it, with its options, first.
    const plugins = isObject(raw.plugins) ? raw.plugins : {};
    const entry = plugins[request.destination];
    if (!isObject(entry)) {
      io.err(`replay: ${file} does not configure plug-in ${request.destination} (plugins.${request.destination}): nothing written`);
      return { exitCode: 2 };
    }
    const settings = isObject(entry.settings) ? entry.settings : {};
    next = { ...raw, plugins: { ...plugins, [request.destination]: { ...entry, settings: { ...settings, ...replaySettings } } } };
  }
  try {
    parsePipelineConfig(next, `config file "${file}"`);
  } catch (error) {
    io.err(`replay: the configuration would not be valid, nothing written: ${error instanceof Error ? error.message : String(error)}`);
    return { exitCode: 2 };
  }
  writeFileSync(file, `${JSON.stringify(next, null, 2)}\n`);
  io.err(`replay: ${created ? 'created' : 'updated'} ${file}${created ? ' (it now configures the stack: add your other settings there)' : ''}`);

  const deployArgs = ['deploy', request.stack, '-c', `${CONFIG_FILE_CONTEXT_KEY}=${file}`, '--require-approval', 'never'];
  if (request.stack !== DEFAULT_STACK) deployArgs.push('-c', `ordered-fanout:stack-name=${request.stack}`);
  io.err(`replay: npx cdk ${deployArgs.join(' ')}`);
  let exitCode: number;
  try {
    exitCode = await (request.deploy ?? spawnCdk)(deployArgs);
  } catch (error) {
    io.err(`replay: cdk deploy could not run: ${error instanceof Error ? error.message : String(error)}`);
    exitCode = 1;
  }
  if (exitCode === 0) {
    if (!io.json) io.out(`deployed: ${request.destination} now replays from ${request.from} under epoch ${request.epoch}; follow it with fanout status`);
  } else {
    io.err(`replay: cdk deploy failed (exit ${exitCode}); ${file} already holds the replay: fix the cause and deploy again, or restore the file`);
  }
  return { configFile: file, created, deployArgs, exitCode: exitCode === 0 ? 0 : 1 };
}

/**
 * The destination's settings as the configuration file has them now (defaults merged), if it exists, is valid and
 * has the destination: a built-in always, a plug-in under `plugins.<name>.settings` when the file configures it.
 */
export function readConfiguredSettings(configFile: string, destination: string): DestinationSettings | undefined {
  const file = resolve(configFile);
  if (!existsSync(file)) return undefined;
  try {
    const config = parsePipelineConfig(JSON.parse(readFileSync(file, 'utf8')) as unknown, `config file "${file}"`);
    if (isBuiltIn(destination)) return config.destinations[destination];
    // Read without the type's help: `plugins` is the configuration's newest section.
    const plugins = (config as { plugins?: Readonly<Record<string, { readonly settings?: DestinationSettings }>> }).plugins;
    return plugins?.[destination]?.settings;
  } catch {
    return undefined;
  }
}

/** `npx cdk <args>` in the project's directory (where cdk.json is), its output on this terminal. */
function spawnCdk(args: string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('npx', ['cdk', ...args], { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolvePromise(code ?? (signal ? 1 : 0)));
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
