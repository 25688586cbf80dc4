import { parsePipelineConfig } from '../../infra/config/load-config';
import type { PipelineConfig } from '../../infra/config/pipeline-config';
import type { DestinationPlugin } from '../../destinations/plugin';
import { AccountsWriter } from '../../shared/accounts/writer';
import { KinesisBridge, type BridgeStats } from '../bridge/kinesis-bridge';
import type { LocalEventSourceMapping } from '../esm';
import { BUILT_IN_DESTINATIONS, runnable } from '../plugins/local-destinations';
import type { DestinationFaults } from '../standins/fault-spec';
import { readFinalVersions } from '../verify';
import { runWorkload, type WorkloadResult } from '../workload';
import { startDestinationFunctions } from './destination-functions';
import { startLocalEnvironment, type AnyDestination, type LocalEnvironment } from './environment';
import { applyDestinationFaults, checkFaults, endFaults, injectFault, type Fault } from './faults';
import { CrashCounter, type FaultsReport } from './fault-report';
import { checkDestinationFaults, checkOperable, faultOverrides, faultSettings, faultsReport, operate, plannedModes, type OperatorTurn } from './fault-run';
import { FunctionMetrics } from './function-metrics';
import { droppedSet, gapsOf, type OperatorReport } from './operator';
import type { Accepted } from './read-back';
import { verifyDestination, type DestinationDetails, type DestinationSummary } from './verify-pipeline';
import { StageClock } from './stage-clock';
import type { RunTimeline, TimelineEvent } from '../report/report-input';
import { converge } from './converge';

export type { AnyDestination } from './environment';

export interface PipelineOptions {
  readonly accounts: number;
  readonly changes: number;
  readonly seed: number;
  readonly shards: number;
  readonly duplicateRate: number;
  readonly reorderRate: number;
  readonly reorderWindow: number;
  /** Seeded late arrivals: each captured chunk waits up to this long before it is put on the stream. */
  readonly maxDelayMs?: number;
  /** Workload operations in flight, and started per second (0: as fast as the table takes them). */
  readonly concurrency: number;
  readonly ratePerSecond?: number;
  readonly faults?: readonly Fault[];
  /**
   * `--crash-rate`: the chance that a consumer invocation's execution environment dies at a seeded point (before a
   * ledger write, before a destination call, at any call, or after its work before its answer). @default 0
   */
  readonly crashRate?: number;
  /** `--destination-faults`: the stand-ins' fault profiles (`parseDestinationFaults`). @default none */
  readonly destinationFaults?: DestinationFaults;
  /** `--permanent-gap-rate`: the chance that a change starts a gap of versions that never reach the stream. @default 0 */
  readonly permanentGapRate?: number;
  /**
   * A fault run's maximum gap age (the functions' `MAX_GAP_AGE_SECONDS`), so gaps time out within a short run.
   * @default 10 in a fault run
   */
  readonly faultGapAgeSeconds?: number;
  /** Destinations that keep their configuration's `maxGapAgeSeconds` in a fault run (`npm start --config` sets it). @default none */
  readonly gapAgeFromConfig?: readonly string[];
  /** A fault run's in-order claim (every in-order destination's `CLAIM_TTL_SECONDS`), so a slow call outlives it within a short run. @default 10 */
  readonly faultClaimTtlSeconds?: number;
  /** How long to wait for the destinations to converge once the workload is done (and, in a fault run, for the operator). */
  readonly convergeTimeoutMs: number;
  /** The stack's configuration (the same object `cdk deploy` reads). @default the defaults */
  readonly config?: PipelineConfig;
  /**
   * The destinations to run (`--destinations`), each on its local half's emulator or stand-in and verified by its
   * read-back; in a fault run they crash, lose versions and are operated by their mode. Any non-empty set, in the
   * order given (`parseDestinationList` puts the built-ins first). @default the built-ins (`BUILT_IN_DESTINATIONS`)
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each destination has its own settings and options types
  readonly destinations?: readonly DestinationPlugin<any, any>[];
  /** Plug-in destinations to run after `destinations` (`ledgerQueue`); each needs its local half. @default none */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each plug-in has its own settings and options types
  readonly plugins?: readonly DestinationPlugin<any, any>[];
  /** Use a running DynamoDB Local (tests); resources then get fresh names. */
  readonly dynamodbEndpoint?: string;
  readonly log?: (message: string) => void;
  readonly onProgress?: (progress: Progress) => void;
  /** Every line the functions log (Powertools JSON and EMF). */
  readonly onFunctionLog?: (destination: AnyDestination, line: string) => void;
  readonly signal?: AbortSignal;
}

export type Progress =
  | { readonly phase: 'workload'; readonly done: number; readonly total: number }
  | { readonly phase: 'converge'; readonly destination: AnyDestination; readonly done: number; readonly total: number };

export interface PipelineReport {
  readonly ok: boolean;
  readonly changes: number;
  readonly accounts: number;
  readonly destinations: Readonly<Record<AnyDestination, DestinationSummary>>;
  readonly details: {
    readonly seed: number;
    readonly shards: number;
    readonly capture: { readonly expected: number; readonly complete: boolean };
    readonly bridge: BridgeStats;
    readonly workload: Omit<WorkloadResult, 'accountIds'>;
    readonly converged: boolean;
    readonly destinations: Readonly<Record<AnyDestination, DestinationDetails>>;
    readonly timingsMs: Readonly<Record<'setup' | 'workload' | 'converge' | 'verify' | 'total', number>> & { readonly operator?: number };
    /** Fault runs only: what was injected, and what became of each dropped gap. */
    readonly faults?: FaultsReport;
    /** Fault runs only: what the run did as the operator once the destinations were quiet. */
    readonly operator?: OperatorReport;
  };
}

export { isFaultRun } from './fault-run';

/** What a run leaves behind for `--dump` and `--keep-running`. */
export interface PipelineRun {
  readonly report: PipelineReport;
  readonly env: LocalEnvironment;
  readonly config: PipelineConfig;
  readonly accepted: Readonly<Record<AnyDestination, readonly Accepted[]>>;
  /** The changes with their commit times, and the timed events (crashes, on-failure batches), for `report.html`. */
  readonly timeline: RunTimeline;
  /** Stops the mappings, the functions, the bridge and every emulator. */
  stop(): Promise<void>;
}

/**
 * The whole pipeline on one machine: emulators, the change-capture bridge, an event source mapping and a function
 * per destination, the workload; then it waits for the destinations to converge and verifies them by reading back.
 * The caller must `stop()` the run.
 */
export async function runPipeline(options: PipelineOptions): Promise<PipelineRun> {
  const log = options.log ?? (() => undefined);
  const config = options.config ?? parsePipelineConfig({}, 'defaults');
  const started = Date.now();
  const suffix = options.dynamodbEndpoint ? `-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}` : '';
  const fault = faultSettings(options);
  const chosen = [...(options.destinations ?? BUILT_IN_DESTINATIONS), ...(options.plugins ?? [])].map(runnable);
  const names = chosen.map(({ runtime }) => runtime.name);
  if (names.length === 0 || new Set(names).size !== names.length) throw new RangeError(`runPipeline: destinations must be a non-empty set, got [${names.join(', ')}]`);
  const planned = plannedModes(chosen);
  checkDestinationFaults(options.destinationFaults, chosen);
  const functionOverrides = faultOverrides(fault, planned);
  const env = await startLocalEnvironment({
    config,
    shards: options.shards,
    ...(options.dynamodbEndpoint ? { dynamodbEndpoint: options.dynamodbEndpoint } : {}),
    suffix,
    functionOverrides,
    destinations: chosen,
    log,
  });
  const stops: (() => Promise<void>)[] = [() => env.stop()];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    const metrics = new FunctionMetrics(env.pipelineName);
    const stages = new StageClock(env.resources.accountsTable);
    const crashes = new CrashCounter(planned.map(({ name }) => name));
    const events: TimelineEvent[] = [];
    const mappings = startDestinationFunctions(
      env,
      {
        shards: options.shards,
        seed: options.seed,
        ...(options.crashRate !== undefined ? { crashRate: options.crashRate } : {}),
        log,
        ...(options.onFunctionLog ? { onFunctionLog: options.onFunctionLog } : {}),
      },
      { metrics, stages, crashes, events },
      stops,
    );
    const { destinations } = env;
    checkFaults(env, options.faults ?? []);
    if (fault) await checkOperable(env, config);
    for (const failure of options.faults ?? []) injectFault(env, failure);
    if (options.destinationFaults) applyDestinationFaults(env, options.destinationFaults, options.seed);

    const bridge = new KinesisBridge({
      dynamodb: env.dynamodb,
      streams: env.streams,
      kinesis: env.kinesis,
      accountsTable: env.resources.accountsTable,
      streamArn: env.resources.streamArn,
      chaos: {
        seed: options.seed,
        duplicateRate: options.duplicateRate,
        reorderRate: options.reorderRate,
        reorderWindow: options.reorderWindow,
        ...(options.maxDelayMs ? { maxDelayMs: options.maxDelayMs } : {}),
        ...(options.permanentGapRate ? { permanentGapRate: options.permanentGapRate } : {}),
      },
      log,
    });
    stops.push(() => bridge.stop());
    bridge.start();
    await Promise.all(destinations.map(({ name }) => (mappings[name] as LocalEventSourceMapping).start()));
    const setupMs = Date.now() - started;

    log(`workload: ${options.accounts} accounts, ${options.changes} changes`);
    const writer = new AccountsWriter({ client: env.dynamodb, tableName: env.resources.accountsTable, maxAttempts: 10 });
    const { accountIds: _ids, ...workload } = await runWorkload(writer, {
      accounts: options.accounts,
      changes: options.changes,
      seed: options.seed,
      concurrency: options.concurrency,
      ...(options.ratePerSecond ? { ratePerSecond: options.ratePerSecond } : {}),
      onOperation: (done, total) => options.onProgress?.({ phase: 'workload', done, total }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    options.signal?.throwIfAborted();
    const workloadMs = Date.now() - started - setupMs;

    const convergeStarted = Date.now();
    const finalVersions = await readFinalVersions(env.dynamodb, env.resources.accountsTable);
    const expected = [...finalVersions.values()].reduce((sum, version) => sum + version, 0);
    const capture = await bridge.drain(options.convergeTimeoutMs);
    const gaps = gapsOf(bridge.dropped);
    const dropped = droppedSet(gaps);
    let converged = await converge(env, mappings, finalVersions, expected, dropped, options, convergeStarted);
    const convergeMs = Date.now() - convergeStarted;

    // The outage ends here, as an operator's runbook has it (fix the cause, then redrive); the read-back, too, reads
    // through the real clients, which faults would refuse.
    if (options.destinationFaults) endFaults(env);
    let operator: OperatorReport | undefined;
    let operatorMs: number | undefined;
    const turn: OperatorTurn | undefined = fault && {
      env,
      config,
      destinations: destinations.map(({ name, mode, settings }) => ({ name, mode, epoch: settings.epoch, settings })),
      fault,
      gaps,
      finalVersions,
      seed: options.seed,
      timeoutMs: options.convergeTimeoutMs,
      log,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    if (turn) {
      const operatorStarted = Date.now();
      log(
        `${converged ? 'the destinations have everything that reached the stream' : 'the destinations are quiet (or the time limit passed)'}: ` +
          `acting as the operator (${gaps.length} dropped gaps, ${crashes.total} crashes so far)`,
      );
      operator = await operate(turn);
      operatorMs = Date.now() - operatorStarted;
      converged = operator.drained;
    }

    const truth = bridge.truth(finalVersions);
    const createdAtMicros = new Map(bridge.changes.map((change) => [`${change.accountId}#${change.version}`, change.createdAtMicros]));
    const accepted = {} as Record<AnyDestination, Accepted[]>;
    for (const { name, standIn } of destinations) accepted[name] = await standIn.readBack();
    const summaries = {} as Record<AnyDestination, DestinationSummary>;
    const details = {} as Record<AnyDestination, DestinationDetails>;
    for (const { name: destination, settings, mode, standIn } of destinations) {
      const documents = await standIn.currentState?.();
      const verified = await verifyDestination({
        env,
        destination,
        mode,
        epoch: settings.epoch,
        accepted: accepted[destination] as Accepted[],
        truth,
        ...(documents ? { documents } : {}),
        metrics,
        createdAtMicros,
        dropped,
      });
      summaries[destination] = verified.summary;
      details[destination] = { ...verified.details, stagesMs: stages.breakdown(destination, bridge.changes, accepted[destination] as Accepted[], mode === 'latest-state') };
    }
    const verifyMs = Date.now() - convergeStarted - convergeMs - (operatorMs ?? 0);
    let ok = capture.complete && destinations.every(({ name }) => details[name]?.ok === true);
    let faults: FaultsReport | undefined;
    if (turn && operator) {
      // Clean only when the operator drained everything and explained everything it did: every letter gone.
      const result = await faultsReport(turn, options, operator, crashes, bridge, accepted);
      ok = ok && result.clean;
      faults = result.faults;
    }
    const report: PipelineReport = {
      ok,
      changes: expected,
      accounts: finalVersions.size,
      destinations: summaries,
      details: {
        seed: options.seed,
        shards: options.shards,
        capture: { expected, complete: capture.complete },
        bridge: bridge.stats,
        workload,
        converged,
        destinations: details,
        timingsMs: {
          setup: setupMs,
          workload: workloadMs,
          converge: convergeMs,
          ...(operatorMs !== undefined ? { operator: operatorMs } : {}),
          verify: verifyMs,
          total: Date.now() - started,
        },
        ...(faults ? { faults } : {}),
        ...(operator ? { operator } : {}),
      },
    };
    return { report, env, config, accepted, timeline: { startedAtMs: started, changes: bridge.changes, events }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
