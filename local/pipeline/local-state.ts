import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DESTINATION_NAMES, type DestinationSettings, type PipelineConfig } from '../../infra/config/pipeline-config';
import { DESTINATION_MODES } from '../../shared/config/consumer-config';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { LocalEnvironment, LocalResources } from './environment';

/** Where `npm start -- --keep-running` says what it runs, for `fanout --local`: the local stack's outputs. */
export const LOCAL_STATE_FILE = '.ordered-fanout/local.json';

/**
 * The state file's format. 1 (no `format` key) listed the three built-ins only, by `functionEnvironments`; 2 lists
 * every destination of the run, plug-ins included, under `destinations`. Old files are still read (as the built-ins).
 */
export const LOCAL_STATE_FORMAT = 2;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** One destination of the running pipeline: what `fanout --local` needs to read it and to run its function. */
export interface LocalDestinationState {
  readonly name: string;
  readonly mode: DeliveryMode;
  /** The function's name, as its logs and metrics have it. */
  readonly functionName: string;
  /** The handler module (absolute path) the local mapping runs, and `fanout` runs for redrive, replay and commands. */
  readonly handler: string;
  /** The gap sweeper module, unless `latest-state`. */
  readonly sweeper?: string;
  /** Its settings: the configuration's (a plug-in's `plugins.<name>.settings`), or the defaults every destination has. */
  readonly settings: DestinationSettings;
  /** The function's environment, as the running function has it. */
  readonly environment: Readonly<Record<string, string>>;
  readonly deadLetterQueueUrl: string;
  readonly streamConsumerArn: string;
}

export interface LocalState {
  readonly format: typeof LOCAL_STATE_FORMAT;
  readonly pid: number;
  readonly startedAt: string;
  readonly endpoints: LocalEnvironment['endpoints'];
  readonly resources: LocalResources;
  readonly config: PipelineConfig;
  /** Every destination of the run (`--destinations`), built-ins first, then plug-ins in the order named. */
  readonly destinations: Readonly<Record<string, LocalDestinationState>>;
}

/** A state file that cannot be used: missing, from a pipeline that has stopped, or not in a format this reads. */
export class LocalStateError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'LocalStateError';
  }
}

/** The state of a running local environment. */
export function localStateOf(env: LocalEnvironment, config: PipelineConfig): LocalState {
  // What the run runs, so the handler `fanout` invokes is the one the mapping invokes.
  const destinations = env.destinations.map(({ name, mode, settings, handler, sweeper }) => ({
    name,
    mode,
    functionName: `ordered-fanout-${name}`,
    handler,
    ...(sweeper ? { sweeper } : {}),
    settings,
    environment: env.functionEnvironment(name),
    deadLetterQueueUrl: env.resources.deadLetterQueues[name] as string,
    streamConsumerArn: env.resources.streamConsumers[name] as string,
  }));
  return {
    format: LOCAL_STATE_FORMAT,
    pid: process.pid,
    startedAt: new Date().toISOString(),
    endpoints: env.endpoints,
    resources: env.resources,
    config,
    destinations: Object.fromEntries(destinations.map((destination) => [destination.name, destination])),
  };
}

export function writeLocalState(state: LocalState, file = LOCAL_STATE_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  // Written whole, then renamed: a `fanout --local` started at that moment never reads half a file.
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

export function removeLocalState(file = LOCAL_STATE_FILE): void {
  rmSync(file, { force: true });
}

/** Reads the state file; throws a `LocalStateError` with what to do when there is none, its process is gone, or it is unreadable. */
export function readLocalState(file = LOCAL_STATE_FILE): LocalState {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new LocalStateError(file, `no local pipeline is running (${file} not found or not JSON): start one with npm start -- --keep-running`);
  }
  const state = upgrade(raw, file);
  try {
    process.kill(state.pid, 0);
  } catch {
    throw new LocalStateError(file, `the local pipeline of ${file} (pid ${state.pid}) is not running any more: start one with npm start -- --keep-running`);
  }
  return state;
}

/** A state of any known format, as format 2; refuses what it cannot read, naming the field. */
function upgrade(raw: Record<string, unknown>, file: string): LocalState {
  const bad = (what: string): never => {
    throw new LocalStateError(file, `${file} is not a state file this version of fanout reads: ${what}; restart npm start -- --keep-running`);
  };
  if (typeof raw !== 'object' || raw === null || typeof raw.pid !== 'number') return bad('no pid');
  if (raw.format === LOCAL_STATE_FORMAT) {
    const destinations = raw.destinations as Record<string, Partial<LocalDestinationState>> | undefined;
    if (typeof destinations !== 'object' || destinations === null) return bad('no destinations');
    for (const [name, d] of Object.entries(destinations)) {
      for (const key of ['mode', 'handler', 'deadLetterQueueUrl', 'streamConsumerArn'] as const) if (typeof d[key] !== 'string') bad(`destinations.${name}.${key} is missing`);
      if (typeof d.settings !== 'object' || typeof d.environment !== 'object') bad(`destinations.${name} has no settings or environment`);
    }
    return raw as unknown as LocalState;
  }
  if (raw.format !== undefined) return bad(`format ${JSON.stringify(raw.format)} (this reads ${LOCAL_STATE_FORMAT} and the format before it)`);
  // Format 1: the three built-ins, their environments under `functionEnvironments`.
  const { functionEnvironments, ...v1 } = raw as unknown as Omit<LocalState, 'format' | 'destinations'> & { functionEnvironments?: Record<string, Record<string, string>> };
  if (!functionEnvironments || !v1.config || !v1.resources) return bad('no functionEnvironments, config or resources (format 1)');
  const destinations = DESTINATION_NAMES.map((name): LocalDestinationState => ({
    name,
    mode: DESTINATION_MODES[name],
    functionName: `ordered-fanout-${name}`,
    handler: `${ROOT}consumers/${name}/handler.ts`,
    settings: v1.config.destinations[name],
    environment: functionEnvironments[name] ?? {},
    deadLetterQueueUrl: v1.resources.deadLetterQueues[name] as string,
    streamConsumerArn: v1.resources.streamConsumers[name] as string,
  }));
  return { ...v1, format: LOCAL_STATE_FORMAT, destinations: Object.fromEntries(destinations.map((d) => [d.name, d])) };
}
