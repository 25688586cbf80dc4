import { DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { pipelineNameOfConsumer, replayReadStart, streamConsumerName } from '../../infra/config/consumer-environment';
import { DEFAULT_PIPELINE_CONFIG } from '../../infra/config/defaults';
import { DEFAULT_CONFIG_FILE, isIsoTime, parseDestinationSettings } from '../../infra/config/load-config';
import { readConfigFileSnapshot, type ConfigFileSnapshot } from '../../infra/config/config-file-write';
import type { DestinationSettings } from '../../infra/config/pipeline-config';
import { LOCAL_STACK_NAME } from '../../local/pipeline/environment';
import { epochNameProblem } from '../../shared/ledger/ledger-table';
import { LIVE_EPOCH } from '../../shared/ordering/delivery-mode';
import { isBuiltIn } from '../destinations';
import type { CommandIO } from '../io';
import { destinationOf, modeOf, type PipelineTarget } from '../target';
import { applyAwsReplay, readConfiguredSettings } from './replay-aws';
import { ledgerOf } from './ledger-scan';
import { defaultEpoch, epochInLedger } from './replay-epoch';
import { runLocalReplay } from './replay-local';
import { printPlan, type ReplayPlan } from './replay-plan';

export interface ReplayOptions {
  /** A built-in or a plug-in of the target. */
  readonly destination: string;
  /** Where the replay starts: an ISO 8601 time with a time zone, not in the future, within the stream's retention. */
  readonly from: string;
  /** The new ledger epoch. @default `replay-<from>-<now>`, both as yyyymmddThhmmssZ (`defaultEpoch`) */
  readonly epoch?: string;
  /** AWS: the stack configuration file the replay is written to (created if missing). @default pipeline.json */
  readonly configFile?: string;
  /** Do it (AWS: write the configuration and deploy; local: run the catch-up). Without it only the plan is printed. */
  readonly apply?: boolean;
  /** AWS: runs `cdk` with these arguments and resolves its exit code. @default spawns `npx cdk` with inherited stdio */
  readonly deploy?: (args: string[]) => Promise<number>;
  /** AWS: the stack to deploy. @default the target's stack, else OrderedFanout */
  readonly stack?: string;
  /** Local: how long the catch-up may take. @default 300 */
  readonly timeoutSeconds?: number;
}

/**
 * Replays one destination from a point in time under a new ledger epoch: a new EFO consumer and event source mapping
 * read the stream from `from` (AT_TIMESTAMP) and the destination's function works on fresh watermarks, so versions
 * already delivered are delivered again (from each account's first change at or after the start), marked `replay: true` when created before the replay
 * ran. The other destinations are not touched. Returns the exit code: 0 done (or planned), 1 failed, 2 invalid input.
 */
export async function replay(target: PipelineTarget, options: ReplayOptions, io: CommandIO): Promise<number> {
  const { destination } = options;
  const now = Date.now();
  const current = destinationOf(target, destination);
  const mode = modeOf(target, destination);
  const errors: string[] = [];
  const fromMs = isIsoTime(options.from) ? Date.parse(options.from) : Number.NaN;
  if (Number.isNaN(fromMs)) errors.push(`--from must be an ISO 8601 time with a time zone, e.g. 2026-11-01T00:00:00Z, got "${options.from}"`);
  else if (fromMs > now) errors.push(`--from ${options.from} is in the future (now is ${new Date(now).toISOString()})`);
  const retentionHours = await readRetentionHours(target).catch((error: unknown) => {
    errors.push(`cannot read the stream's retention (DescribeStreamSummary ${target.streamArn}): ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  });
  if (retentionHours !== undefined && !Number.isNaN(fromMs) && now - fromMs > retentionHours * 3_600_000) {
    const oldest = new Date(now - retentionHours * 3_600_000).toISOString();
    errors.push(`--from ${options.from} is older than the stream's retention of ${retentionHours} h: the oldest record still readable is from about ${oldest}`);
  }
  const epoch = options.epoch ?? (Number.isNaN(fromMs) ? undefined : defaultEpoch(fromMs, now));
  if (epoch !== undefined) {
    const problem = epochNameProblem(epoch);
    if (problem !== undefined) {
      errors.push(`--epoch ${problem}, got "${epoch}"`);
    } else if (epoch === current.epoch) {
      errors.push(`--epoch ${epoch} is ${destination}'s current epoch: a replay needs a new one (its watermarks start from nothing)`);
    } else if (epoch === LIVE_EPOCH.id) {
      errors.push(`--epoch must not be "${LIVE_EPOCH.id}": a replay runs under an epoch of its own`);
    } else if (errors.length === 0 && options.epoch !== undefined) {
      // Last, and only for a request otherwise valid: it may read the whole ledger table. A default epoch names the
      // second it was planned in, so no earlier replay can have written under it: nothing to look for.
      const error = await epochUsedError(target, destination, epoch, io);
      if (error !== undefined) errors.push(error);
    }
  }
  if (errors.length > 0 || epoch === undefined) {
    for (const error of errors) io.err(`replay: ${error}`);
    return 2;
  }

  const from = new Date(fromMs).toISOString();
  const replayBefore = new Date(now).toISOString();
  const local = target.kind === 'local';
  const stack = options.stack ?? (local ? LOCAL_STACK_NAME : (/^stack (\S+)/.exec(target.description)?.[1] ?? 'OrderedFanout'));
  // The new EFO consumer is named after the pipeline, which is the stack only by default: the stack's outputs name it
  // (addOperatorOutputs). For a stack deployed before they did, it is read off the current consumer's name, or found to
  // be the stack's when that name was shortened (over 128 characters: its start is then not the whole pipeline name).
  const currentConsumer = /\/consumer\/([^:]+)(?::\d+)?$/.exec(current.streamConsumerArn)?.[1] ?? '';
  const pipeline = target.pipelineName ?? pipelineNameOfConsumer(currentConsumer, destination, current.epoch, [stack]) ?? stack;
  const configFile = options.configFile ?? DEFAULT_CONFIG_FILE;
  // Read once: the plan is made from these bytes, and --apply writes only if the file still holds them (another
  // apply may write it while this one plans).
  const snapshot = local ? undefined : readSnapshot(configFile);
  const configured = readConfiguredSettings(snapshot, destination);
  const base = currentSettings(target, destination, configured, retentionHours);
  const warnings: string[] = [];
  // The configuration file holds the settings of the bundled app's pipeline, and of a plug-in only when it configures
  // it (`plugins.<name>`). A pipeline or plug-in of a CDK app of your own has its settings there, for you to write.
  const ownApp = !local && target.settingsInConfigFile === false;
  const pluginOnAws = !local && !ownApp && !isBuiltIn(destination) && configured === undefined;
  const advised = ownApp || pluginOnAws;
  if (advised) warnings.push(ownAppReplayAdvice(destination, epoch, from, replayBefore, stack, ownApp ? undefined : configFile));
  const stranded = await strandedWarning(target, destination, current.epoch, fromMs);
  if (stranded !== undefined) warnings.push(stranded);
  // The stack leaves a replay mapping (AT_TIMESTAMP) without a maximum record age, so old records are not discarded.
  // The mapping reads from a little before the window (REPLAY_READ_MARGIN_SECONDS): a change whose writer's clock runs
  // ahead can arrive before the time it carries.
  const readFrom = replayReadStart(from);
  const nextSettings = { ...base, epoch, startingPosition: 'AT_TIMESTAMP' as const, startingPositionTimestamp: readFrom, replayFrom: from, replayBefore };
  const plan: ReplayPlan = {
    destination,
    mode,
    target: target.description,
    kind: target.kind,
    from,
    retentionHours: retentionHours ?? 0,
    replayBefore,
    current: { epoch: current.epoch, streamConsumerArn: current.streamConsumerArn, startingPosition: current.startingPosition },
    next: {
      epoch,
      window: 'from-time',
      streamConsumerName: streamConsumerName(pipeline, destination, nextSettings),
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestamp: readFrom,
      replayFrom: from,
    },
    others: Object.keys(target.destinations).filter((name) => name !== destination),
    warnings,
    apply: options.apply ?? false,
  };
  if (!io.json) printPlan(io, plan, { stack, configFile });
  if (!plan.apply) {
    if (io.json) io.out(JSON.stringify({ plan, applied: false }));
    else io.out(advised ? '(plan only: write the settings in your CDK app and deploy, as the WARNING says)' : `(plan only: add --apply to ${local ? 'run it' : `write ${configFile} and deploy`})`);
    return 0;
  }
  if (local) {
    const outcome = await runLocalReplay(target, { destination, epoch, from, replayBefore, consumerName: plan.next.streamConsumerName, timeoutMs: (options.timeoutSeconds ?? 300) * 1000 }, io);
    if (io.json) io.out(JSON.stringify({ plan, applied: true, local: outcome }));
    return outcome.caughtUp ? 0 : 1;
  }
  if (advised) {
    const why = ownApp ? `${target.description} is deployed by a CDK app of your own, which holds its settings` : `${configFile} does not configure plug-in ${destination}`;
    io.err(`replay: --apply refused for ${destination}: ${why}, so fanout cannot write its settings (see the WARNING above); nothing was changed`);
    if (io.json) io.out(JSON.stringify({ plan, applied: false }));
    return 2;
  }
  const outcome = await applyAwsReplay(
    { destination, epoch, from, replayBefore, stack, configFile, ...(snapshot ? { expected: snapshot } : {}), ...(options.deploy ? { deploy: options.deploy } : {}) },
    io,
  );
  if (io.json) io.out(JSON.stringify({ plan, applied: outcome.exitCode === 0, aws: outcome }));
  return outcome.exitCode;
}

/** Undefined when the file cannot be read: the plan goes on with the defaults, and --apply reports why it cannot. */
function readSnapshot(configFile: string): ConfigFileSnapshot | undefined {
  try {
    return readConfigFileSnapshot(configFile);
  } catch {
    return undefined;
  }
}

/** The destination's settings now: the running pipeline's, else the configuration file's, else the defaults. */
function currentSettings(target: PipelineTarget, destination: string, configured: DestinationSettings | undefined, retentionHours: number | undefined): DestinationSettings {
  const running = target.local?.destinations[destination]?.settings;
  if (running) return running;
  if (configured) return configured;
  if (isBuiltIn(destination)) return DEFAULT_PIPELINE_CONFIG.destinations[destination];
  // A plug-in of a CDK app: its real settings are there; the defaults give the plan's consumer name for the new epoch.
  return parseDestinationSettings(undefined, destination, 'defaults', { retentionHours: retentionHours ?? DEFAULT_PIPELINE_CONFIG.stream.retentionHours });
}

/** What to write to replay a plug-in the configuration file does not configure, since `fanout` cannot. */
function ownAppReplayAdvice(destination: string, epoch: string, from: string, replayBefore: string, stack: string, configFile: string | undefined): string {
  const settings = JSON.stringify({ epoch, startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: replayReadStart(from), replayFrom: from, replayBefore });
  const where = isBuiltIn(destination)
    ? `destinations.${destination} of your OrderedFanout's props`
    : `pluginDestination(<${destination} infra>, <options>, settings) in your CDK app`;
  const why = configFile === undefined ? 'this pipeline is deployed by a CDK app of your own' : `${destination} is a plug-in that ${configFile} does not configure (plugins.${destination})`;
  return `${why}, so --apply cannot write its settings. Set ${settings} as its settings where it is configured (${where}, keeping your other settings) and run npx cdk deploy ${stack}`;
}

/** Why `epoch` cannot be the replay's: the ledger holds items under it (see `epochInLedger`), or could not be read. */
async function epochUsedError(target: PipelineTarget, destination: string, epoch: string, io: CommandIO): Promise<string | undefined> {
  try {
    const { found } = await epochInLedger(target, destination, epoch, { onProgress: (done, total) => io.progress('epoch check', done, total) });
    if (found === undefined) return undefined;
    return `--epoch ${epoch} was used before: ${target.ledgerTable} holds ${destination} items under it (account ${found}, the first found), so a replay under it would skip all it delivered then; name a new one`;
  } catch (error) {
    return `cannot tell whether --epoch ${epoch} was used before (scanning ${target.ledgerTable}): ${error instanceof Error ? error.message : String(error)}`;
  }
}

async function readRetentionHours(target: PipelineTarget): Promise<number> {
  const { StreamDescriptionSummary: summary } = await target.kinesis.send(new DescribeStreamSummaryCommand({ StreamARN: target.streamArn }));
  const hours = summary?.RetentionPeriodHours;
  if (typeof hours !== 'number') throw new Error('the answer has no RetentionPeriodHours');
  return hours;
}

/**
 * Accounts of the current epoch that have waited behind a gap since before `--from`: what they hold parked there (and
 * what is dead-lettered for them) from before `--from` is delivered by no epoch once the new one runs (it skips what
 * is before its window, and no sweeper or redrive works on the old epoch any more). Undefined when there are none, or
 * the ledger cannot be read (the plan goes on without it).
 */
async function strandedWarning(target: PipelineTarget, destination: string, epoch: string, fromMs: number): Promise<string | undefined> {
  try {
    let accounts = 0;
    let oldest = fromMs;
    for await (const { since } of ledgerOf(target, destination).waiting()) {
      if (!(since < fromMs)) continue;
      accounts += 1;
      oldest = Math.min(oldest, since);
    }
    if (accounts === 0) return undefined;
    return (
      `${accounts} account(s) of epoch ${epoch} have waited behind a gap since before --from (the oldest since ${new Date(oldest).toISOString()}): ` +
      `their changes parked or dead-lettered from before --from will be delivered by no epoch once the new one runs. ` +
      `Redrive or skip their gaps first (fanout status ${destination}, fanout redrive ${destination}), or replay from before ${new Date(oldest).toISOString()}`
    );
  } catch {
    return undefined;
  }
}
