import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DESTINATION_NAMES, type DestinationName, type PipelineConfig } from '../../infra/config/pipeline-config';
import type { LocalEnvironment, LocalResources } from './environment';

/** Where `npm start -- --keep-running` says what it runs, for `fanout --local`: the local stack's outputs. */
export const LOCAL_STATE_FILE = '.ordered-fanout/local.json';

export interface LocalState {
  readonly pid: number;
  readonly startedAt: string;
  readonly endpoints: LocalEnvironment['endpoints'];
  readonly resources: LocalResources;
  readonly config: PipelineConfig;
  /** Each destination's function environment, as the running functions have it. */
  readonly functionEnvironments: Readonly<Record<DestinationName, Readonly<Record<string, string>>>>;
}

/** The state of a running local environment. */
export function localStateOf(env: LocalEnvironment, config: PipelineConfig): LocalState {
  return {
    pid: process.pid,
    startedAt: new Date().toISOString(),
    endpoints: env.endpoints,
    resources: env.resources,
    config,
    functionEnvironments: Object.fromEntries(
      DESTINATION_NAMES.map((name) => [name, env.functionEnvironment(name)]),
    ) as LocalState['functionEnvironments'],
  };
}

export function writeLocalState(state: LocalState, file = LOCAL_STATE_FILE): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`);
}

export function removeLocalState(file = LOCAL_STATE_FILE): void {
  rmSync(file, { force: true });
}

/** Reads the state file; throws with what to do when there is none or its process is gone. */
export function readLocalState(file = LOCAL_STATE_FILE): LocalState {
  let state: LocalState;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as LocalState;
  } catch {
    throw new Error(`no local pipeline is running (${file} not found): start one with npm start -- --keep-running`);
  }
  try {
    process.kill(state.pid, 0);
  } catch {
    throw new Error(`the local pipeline of ${file} (pid ${state.pid}) is not running any more: start one with npm start -- --keep-running`);
  }
  return state;
}
