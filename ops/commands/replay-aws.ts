import { replayReadStart } from '../../infra/config/consumer-environment';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CONFIG_FILE_CONTEXT_KEY, parsePipelineConfig } from '../../infra/config/load-config';
import {
  CONFIG_FILE_LOCK_STALE_MS,
  ConfigFileChangedError,
  ConfigFileLockedError,
  readConfigFileSnapshot,
  replaceConfigFile,
  type ConfigFileSnapshot,
} from '../../infra/config/config-file-write';
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
  /**
   * The configuration file as the plan read it. The replay is written only if the file still holds exactly this, so
   * that an apply never writes over a change made since its plan (another apply's replay). @default read now
   */
  readonly expected?: ConfigFileSnapshot;
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
 * and deploys it. CloudFormation then creates the new EFO consumer and mapping and removes the old ones. When the file
 * changed since `expected` was read, or another writer holds its lock, nothing is written or deployed (exit 2): the
 * operator runs the command again, so no apply writes over another's replay (`replaceConfigFile`).
 */
export async function applyAwsReplay(request: AwsReplayRequest, io: CommandIO): Promise<AwsReplayOutcome> {
  let snapshot: ConfigFileSnapshot;
  let raw: unknown = {};
  try {
    snapshot = request.expected ?? readConfigFileSnapshot(request.configFile);
    if (snapshot.text !== undefined) raw = JSON.parse(snapshot.text) as unknown;
  } catch (error) {
    io.err(`replay: ${request.expected?.file ?? request.configFile} is not a readable JSON file: ${error instanceof Error ? error.message : String(error)}`);
    return { exitCode: 2 };
  }
  const { file } = snapshot;
  const created = snapshot.text === undefined;
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
  const rerun = 'nothing written, nothing deployed: run the command again';
  try {
    const { staleLock } = replaceConfigFile(snapshot, `${JSON.stringify(next, null, 2)}\n`);
    if (staleLock !== undefined) io.err(`replay: ${staleLock}`);
  } catch (error) {
    if (error instanceof ConfigFileChangedError) {
      const how = error.change === 'changed' ? '' : ` (it was ${error.change})`;
      io.err(`replay: ${file} changed since this replay read it${how}, by another fanout replay --apply or an edit: ${error.changes.join('; ')}`);
      io.err(`replay: ${rerun}, to plan against the file as it is now`);
    } else if (error instanceof ConfigFileLockedError) {
      io.err(`replay: ${error.message}`);
      io.err(`replay: ${rerun} once it is done (a lock whose holder is not running, or older than ${CONFIG_FILE_LOCK_STALE_MS / 1000} s, is taken over)`);
    } else {
      io.err(`replay: cannot write ${file}, nothing deployed: ${error instanceof Error ? error.message : String(error)}`);
    }
    return { exitCode: 2 };
  }
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
export function readConfiguredSettings(snapshot: ConfigFileSnapshot | undefined, destination: string): DestinationSettings | undefined {
  if (snapshot?.text === undefined) return undefined;
  try {
    const config = parsePipelineConfig(JSON.parse(snapshot.text) as unknown, `config file "${snapshot.file}"`);
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
