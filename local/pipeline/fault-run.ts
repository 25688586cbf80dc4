/**
 * The fault-run parts of `runPipeline`, for every destination of the run (built-ins and plug-ins alike, by mode):
 * the functions' shortened settings, the operator's turn, and the `faults` section of the report.
 */
import type { PipelineConfig } from '../../infra/config/pipeline-config';
import { localTarget } from '../../ops/target';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { faultCatalog, type RunnableDestination } from '../plugins/local-destinations';
import { describeDestinationFaults, type DestinationFaults } from '../standins/fault-spec';
import type { KinesisBridge } from '../bridge/kinesis-bridge';
import type { LocalEnvironment } from './environment';
import { gapOutcomes, injectedCounts, type CrashCounter, type FaultsReport } from './fault-report';
import { FaultOptionError } from './faults';
import { localStateOf } from './local-state';
import { LOCAL_SWEEP_EVERY_MS } from './local-sweeper';
import { actAsOperator, queueDepth, type DroppedGap, type OperatedDestination, type OperatorReport } from './operator';
import type { Accepted } from './read-back';

/** Why an in-order destination may accept a version again: what the engine does after a crash, whatever the destination. */
const IN_ORDER_DUPLICATES =
  'versions already received, again: a crash between delivery and commit replays the run since the last commit, or a call was cut off at its deadline';

export interface FaultOptions {
  readonly crashRate?: number;
  readonly destinationFaults?: DestinationFaults;
  readonly permanentGapRate?: number;
  readonly faultGapAgeSeconds?: number;
  readonly gapAgeFromConfig?: readonly string[];
  readonly faultClaimTtlSeconds?: number;
}

export interface FaultSettings {
  /** The short gap age of every destination but those in `gapAgeFromConfig`. */
  readonly maxGapAgeSeconds: number;
  /** Destinations whose configuration sets `maxGapAgeSeconds`: they keep it. */
  readonly gapAgeFromConfig: readonly string[];
  readonly claimTtlSeconds: number;
}

/** Whether the options inject faults (crashes, destination faults, permanent gaps). */
export function isFaultRun(options: Pick<FaultOptions, 'crashRate' | 'destinationFaults' | 'permanentGapRate'>): boolean {
  return (options.crashRate ?? 0) > 0 || (options.destinationFaults?.rules.length ?? 0) > 0 || (options.permanentGapRate ?? 0) > 0;
}

/** A fault run's functions: short gap age and claim, so that time-outs happen within the run (see `PipelineOptions`). */
export function faultSettings(options: FaultOptions): FaultSettings | undefined {
  if (!isFaultRun(options)) return undefined;
  return { maxGapAgeSeconds: options.faultGapAgeSeconds ?? 10, gapAgeFromConfig: options.gapAgeFromConfig ?? [], claimTtlSeconds: options.faultClaimTtlSeconds ?? 10 };
}

/** Every destination the run will have and its mode, before the environment starts (the function overrides are given to it). */
export function plannedModes(destinations: readonly Pick<RunnableDestination, 'runtime'>[]): { name: string; mode: DeliveryMode }[] {
  return destinations.map(({ runtime }) => ({ name: runtime.name, mode: runtime.mode }));
}

/**
 * The fault run's function variables: the short gap age for every destination that waits for gaps (all but
 * latest-state ones, which ignore it), the short claim for every in-order one (what claims an account while it calls).
 */
export function faultOverrides(fault: FaultSettings | undefined, destinations: readonly { name: string; mode: DeliveryMode }[]): Record<string, Record<string, string>> {
  const overrides: Record<string, Record<string, string>> = {};
  if (!fault) return overrides;
  for (const { name, mode } of destinations) {
    overrides[name] = {
      ...(fault.gapAgeFromConfig.includes(name) ? {} : { MAX_GAP_AGE_SECONDS: String(fault.maxGapAgeSeconds) }),
      ...(mode === 'in-order' ? { CLAIM_TTL_SECONDS: String(fault.claimTtlSeconds) } : {}),
    };
  }
  return overrides;
}

/**
 * Refuses `--destination-faults` rules the run cannot apply: for a destination it does not have, or whose local half
 * has no fault profiles or not that fault (rules parsed against other destinations than the run's).
 */
export function checkDestinationFaults(faults: DestinationFaults | undefined, destinations: readonly Pick<RunnableDestination, 'runtime' | 'local'>[]): void {
  const catalog = faultCatalog(destinations);
  const withFaults = [...catalog].filter(([, kinds]) => kinds !== undefined).map(([name]) => name);
  for (const { destination, fault } of faults?.rules ?? []) {
    if (!catalog.has(destination)) {
      throw new FaultOptionError('--destination-faults', `this run has no destination "${destination}" (it has ${[...catalog.keys()].join(', ')})`);
    }
    const kinds = catalog.get(destination)?.kinds;
    if (!kinds) {
      throw new FaultOptionError(
        '--destination-faults',
        `${destination} has no fault profiles for its local stand-in (only ${withFaults.join(', ') || 'none'} have); fault it with --fail, --crash-rate or --permanent-gap-rate`,
      );
    }
    if (!Object.hasOwn(kinds, fault)) throw new FaultOptionError('--destination-faults', `${destination} has no fault "${fault}" (${Object.keys(kinds).join(', ')})`);
  }
}

/**
 * A fault run ends with the operator, which works through `fanout` on the run's state: refuse at the start a run that
 * `fanout` would refuse at the end, with its reason (`ops/target.ts` decides which destination sets it works on).
 */
export async function checkOperable(env: LocalEnvironment, config: PipelineConfig): Promise<void> {
  let target: ReturnType<typeof localTarget>;
  try {
    target = localTarget(localStateOf(env, config));
  } catch (error) {
    throw new FaultOptionError(
      '--crash-rate, --destination-faults, --permanent-gap-rate',
      `a fault run ends with the operator, which works through fanout, and fanout refuses this run: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  await target.close();
}

export interface OperatorTurn {
  readonly env: LocalEnvironment;
  readonly config: PipelineConfig;
  readonly destinations: readonly (OperatedDestination & { readonly settings: { readonly maxGapAgeSeconds: number } })[];
  readonly fault: FaultSettings;
  readonly gaps: readonly DroppedGap[];
  readonly finalVersions: ReadonlyMap<string, number>;
  readonly seed: number;
  readonly timeoutMs: number;
  readonly log: (message: string) => void;
  readonly signal?: AbortSignal;
}

/** Acts as the operator over every destination of the run. */
export function operate(turn: OperatorTurn): Promise<OperatorReport> {
  const { fault, destinations } = turn;
  // The operator waits out the longest gap age of the run's destinations, each the fault run's or its configuration's.
  const gapAgeSeconds = Math.max(
    ...destinations.map(({ name, settings }) => (fault.gapAgeFromConfig.includes(name) ? settings.maxGapAgeSeconds : fault.maxGapAgeSeconds)),
  );
  return actAsOperator({
    env: turn.env,
    config: turn.config,
    destinations: destinations.map(({ name, mode, epoch }) => ({ name, mode, epoch })),
    gaps: turn.gaps,
    finalVersions: turn.finalVersions,
    seed: turn.seed,
    maxGapAgeMs: gapAgeSeconds * 1000,
    sweepEveryMs: LOCAL_SWEEP_EVERY_MS,
    timeoutMs: turn.timeoutMs,
    log: turn.log,
    ...(turn.signal ? { signal: turn.signal } : {}),
  });
}

/** Whether the fault run ended clean (every letter of every destination gone, nothing unexplained), and its report section. */
export async function faultsReport(
  turn: OperatorTurn,
  options: FaultOptions,
  operator: OperatorReport,
  crashes: CrashCounter,
  bridge: Pick<KinesisBridge, 'dropped'>,
  accepted: Readonly<Record<string, readonly Accepted[]>>,
): Promise<{ clean: boolean; faults: FaultsReport }> {
  const letters = await Promise.all(turn.destinations.map(({ name }) => queueDepth(turn.env, name)));
  return {
    clean: operator.drained && operator.unexplained.length === 0 && letters.every((depth) => depth === 0),
    faults: {
      crashRate: options.crashRate ?? 0,
      crashes: crashes.snapshot(),
      destinationFaults: options.destinationFaults ? describeDestinationFaults(options.destinationFaults, faultCatalog(turn.env.destinations)) : [],
      injected: injectedCounts(turn.env),
      duplicateNotes: duplicateNotes(turn.env),
      permanentGapRate: options.permanentGapRate ?? 0,
      dropped: { versions: bridge.dropped.length, gaps: gapOutcomes(turn.gaps, turn.finalVersions, accepted, operator, turn.destinations) },
      settings: turn.fault,
    },
  };
}

/** Why each destination may or may not show duplicates (see `FaultsReport.duplicateNotes`). */
function duplicateNotes(env: LocalEnvironment): Record<string, string> {
  return Object.fromEntries(
    env.destinations.flatMap(({ name, mode, local }) => {
      const note = mode === 'in-order' ? IN_ORDER_DUPLICATES : local.duplicates;
      return note === undefined ? [] : [[name, note]];
    }),
  );
}
