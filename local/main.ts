// Before any SDK client is created (importing creates none): the SDK warns about Node versions, which would clutter
// the report.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { localTarget } from '../ops/target';
import { parseDestinationList } from './plugins/destination-selection';
import { BUILT_IN_DESTINATIONS, faultCatalog, KNOWN_DESTINATIONS, type RunnableDestination } from './plugins/local-destinations';
import { dumpRun } from './pipeline/dump';
import { parseFault, type Fault } from './pipeline/faults';
import { checkedConfig, checkFailDestinations, gapAgeSetBy, pausedNotes, readConfigFile, type Refuse } from './start-options';
import { makeDirectory, wholeNumber } from '../ops/cli-args';
import { parseDestinationFaults, type DestinationFaults } from './standins/fault-spec';
import { LOCAL_STATE_FILE, localStateOf, removeLocalState, writeLocalState, type LocalState } from './pipeline/local-state';
import { formatPipelineReport } from './pipeline/print-report';
import { runPipeline, type PipelineRun, type Progress } from './pipeline/run-pipeline';
import { REPORT_DIR, writeRunReport } from './report/write-report';

const DEFAULTS = { accounts: 20, changes: 400, shards: 2, duplicateRate: 0.05, reorderRate: 0.1, reorderWindow: 8, seed: 1, concurrency: 8 };

const integer = (min: number) => (value: string): number => wholeNumber(value, min);
const rate = (value: string): number => {
  const parsed = Number(value);
  if (!(parsed >= 0 && parsed <= 1)) throw new InvalidArgumentError('must be a number from 0 to 1');
  return parsed;
};
const destinationList = (value: string): readonly RunnableDestination[] => {
  try {
    return parseDestinationList(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};
const fault = (value: string, previous: Fault[] = []): Fault[] => {
  try {
    return [...previous, parseFault(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};

const program = new Command('npm start --')
  .description(
    'Runs the whole pipeline on this machine: DynamoDB Local, kinesis-local, fauxqs and the OpenSearch and EventBridge\n' +
      'stand-ins; a workload through the writer library; the change-capture bridge with seeded chaos; an EFO event source\n' +
      'mapping and the real handler per destination. Then it reads every destination back and verifies it. Exit code 0\n' +
      'only if nothing is missing, misordered or left parked.',
  )
  .option('--accounts <n>', 'accounts to open', integer(2), DEFAULTS.accounts)
  .option('--changes <n>', 'deposits, withdrawals and transfers after opening', integer(0), DEFAULTS.changes)
  .option('--shards <n>', 'Kinesis shards', integer(1), DEFAULTS.shards)
  .option('--duplicate-rate <r>', 'chance that a change is put on the stream twice', rate, DEFAULTS.duplicateRate)
  .option('--reorder-rate <r>', 'chance that a change is held back behind later ones', rate, DEFAULTS.reorderRate)
  .option('--reorder-window <n>', 'positions a held-back change moves at most', integer(1), DEFAULTS.reorderWindow)
  .option('--max-delay <ms>', 'seeded late arrival: a captured chunk waits up to this long', integer(0), 0)
  .option('--seed <n>', 'seed of the workload plan and of the chaos', integer(0), DEFAULTS.seed)
  .option('--concurrency <n>', 'workload operations in flight', integer(1), DEFAULTS.concurrency)
  .option('--rate <n>', 'workload operations started per second (0: as fast as possible)', integer(0), 0)
  .option('--fail <destination:rate>', 'make a destination of the run fail that fraction of its calls (repeatable), e.g. fraud:1.0', fault)
  .option('--crash-rate <r>', "chance that a consumer invocation's execution environment dies at a seeded point (the mapping retries it)", rate, 0)
  // Checked once every option is read: what `all` means, and which destinations may be named, depend on --destinations.
  .option(
    '--destination-faults <spec>',
    'destination faults of the stand-ins: all, or destination:fault:rate[@ms],... (e.g. search:403:0.05,fraud:slow:0.02@15000)',
  )
  .option('--permanent-gap-rate <r>', "chance that a change starts a gap (it and its account's next change) that never reaches the stream", rate, 0)
  .option('--timeout <seconds>', 'time limit for the destinations to converge after the workload (and for the operator of a fault run; default 600 then)', integer(1), 120)
  .option('--config <file>', "the stack's configuration file (JSON, as for cdk deploy -c ordered-fanout:config-file=...)")
  .option(
    '--destinations <list>',
    `the destinations to run, comma-separated, any of ${[...KNOWN_DESTINATIONS.keys()].join(', ')} (default: ${BUILT_IN_DESTINATIONS.map(({ runtime }) => runtime.name).join(',')})`,
    destinationList,
  )
  .option('--json', 'print the report as JSON on stdout (progress goes to stderr)', false)
  .option('--dump <dir>', 'write what each destination received (<destination>.jsonl) and the table (table.jsonl)')
  .option('--no-html', `do not write ${REPORT_DIR}/report.json and report.html`)
  .option('--logs <dir>', "where the functions' logs go, one file per destination", '.ordered-fanout/logs')
  .addOption(new Option('--keep-running', 'leave the emulators up and print their endpoints, until Ctrl-C').default(false))
  .showHelpAfterError();

interface CliOptions {
  accounts: number;
  changes: number;
  shards: number;
  duplicateRate: number;
  reorderRate: number;
  reorderWindow: number;
  maxDelay: number;
  seed: number;
  concurrency: number;
  rate: number;
  fail?: Fault[];
  crashRate: number;
  destinationFaults?: string;
  permanentGapRate: number;
  timeout: number;
  config?: string;
  destinations?: readonly RunnableDestination[];
  json: boolean;
  dump?: string;
  logs: string;
  html: boolean;
  keepRunning: boolean;
}

const refuse: Refuse = (message) => program.error(message);

async function main(): Promise<number> {
  const options = program.parse().opts<CliOptions>();
  const destinations = options.destinations ?? BUILT_IN_DESTINATIONS;
  const destinationFaults = options.destinationFaults === undefined ? undefined : faultsOf(options.destinationFaults, destinations);
  checkFailDestinations(options.fail ?? [], destinations, refuse);
  const rawConfig = options.config === undefined ? undefined : readConfigFile(options.config, refuse);
  const config = options.config ? checkedConfig(rawConfig, options.config, refuse) : undefined;
  if (options.dump !== undefined) makeDirectory('--dump <dir>', options.dump, refuse);
  const interactive = process.stderr.isTTY === true;
  const log = (message: string): void => {
    if (!interactive || !bars) process.stderr.write(`${message}\n`);
  };
  makeDirectory('--logs <dir>', options.logs, refuse);
  const logFiles = new Map<string, WriteStream>(
    destinations.map(({ runtime }) => [runtime.name, createWriteStream(join(options.logs, `${runtime.name}.log`))]),
  );
  let bars: MultiBar | undefined;
  const barOf = new Map<string, SingleBar>();
  const onProgress = (progress: Progress): void => {
    if (!interactive) return;
    bars ??= new MultiBar({ format: ' {name} [{bar}] {value}/{total}', hideCursor: true, clearOnComplete: false, stream: process.stderr }, Presets.shades_classic);
    const name = progress.phase === 'workload' ? 'workload  ' : `${progress.destination.padEnd(10)}`;
    let bar = barOf.get(name);
    if (!bar) barOf.set(name, (bar = bars.create(progress.total, 0, { name })));
    bar.setTotal(progress.total);
    bar.update(progress.done, { name });
  };

  if (config && options.config) for (const line of pausedNotes(config, options.config, destinations)) log(line);

  const abort = new AbortController();
  // Every Ctrl-C is caught, not only the first: a second one must not kill this process before it has stopped the
  // emulators it started (they would be left running).
  process.on('SIGINT', () => {
    if (abort.signal.aborted) process.stderr.write('still stopping the emulators; a moment\n');
    abort.abort();
  });
  let run: PipelineRun | undefined;
  try {
    log(`ordered-fanout: the local pipeline (functions log to ${options.logs}/)`);
    run = await runPipeline({
      accounts: options.accounts,
      changes: options.changes,
      seed: options.seed,
      shards: options.shards,
      duplicateRate: options.duplicateRate,
      reorderRate: options.reorderRate,
      reorderWindow: options.reorderWindow,
      maxDelayMs: options.maxDelay,
      concurrency: options.concurrency,
      ratePerSecond: options.rate,
      faults: options.fail ?? [],
      crashRate: options.crashRate,
      ...(destinationFaults ? { destinationFaults } : {}),
      permanentGapRate: options.permanentGapRate,
      // A fault run shortens the gap age so that gaps time out within it, but for a destination whose configuration sets one.
      gapAgeFromConfig: gapAgeSetBy(rawConfig),
      convergeTimeoutMs: timeoutSeconds(options) * 1000,
      ...(config ? { config } : {}),
      destinations,
      log,
      onProgress,
      onFunctionLog: (destination, line) => logFiles.get(destination)?.write(`${line}\n`),
      signal: abort.signal,
    });
    bars?.stop();
    bars = undefined;
    if (options.json) process.stdout.write(`${JSON.stringify(run.report, null, 2)}\n`);
    else process.stdout.write(`${formatPipelineReport(run.report)}\n`);
    let dumped = true;
    if (options.dump) {
      // After the report: a dump that fails does not cost the run its verdict.
      try {
        const files = await dumpRun(options.dump, run.env, run.accepted);
        log(`dumped ${files.join(', ')}`);
      } catch (error) {
        dumped = false;
        process.stderr.write(`--dump ${options.dump}: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
    if (options.html) {
      const written = writeRunReport(REPORT_DIR, {
        report: run.report,
        timeline: run.timeline,
        accepted: run.accepted,
        standingFaults: (options.fail ?? []).map(({ destination, rate }) => `--fail ${destination}:${rate}`),
        generatedAt: new Date().toISOString(),
        command: ['npm start', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
      });
      process.stderr.write(`report: ${written.html} (data: ${written.json})\n`);
    }
    if (options.keepRunning) await keepRunning(run, abort.signal);
    return !dumped ? 2 : run.report.ok ? 0 : 1;
  } catch (error) {
    if (abort.signal.aborted) return interrupted();
    throw error;
  } finally {
    bars?.stop();
    await run?.stop();
    for (const file of logFiles.values()) file.end();
  }
}

/** Ctrl-C: the emulators are stopped by then (the run's `finally`); 130, as a shell gives a command ended by SIGINT. */
function interrupted(): number {
  process.stderr.write('interrupted: stopped the emulators\n');
  return 130;
}

/** `--destination-faults SPEC`, read against the run's destinations; a spec they cannot take ends the command as commander would. */
function faultsOf(spec: string, destinations: readonly RunnableDestination[]): DestinationFaults {
  try {
    return parseDestinationFaults(spec, faultCatalog(destinations));
  } catch (error) {
    return program.error(`error: option '--destination-faults <spec>' argument '${spec}' is invalid. ${(error as Error).message}`);
  }
}

/** `--timeout`, or in a fault run without one, 600 s: held destination calls (up to 90 s each with `all`) add up. */
function timeoutSeconds(options: CliOptions): number {
  const faultRun = options.crashRate > 0 || options.destinationFaults !== undefined || options.permanentGapRate > 0;
  return faultRun && program.getOptionValueSource('timeout') === 'default' ? 600 : options.timeout;
}


async function keepRunning(run: PipelineRun, signal: AbortSignal): Promise<void> {
  const { endpoints, resources, destinations } = run.env;
  const state = localStateOf(run.env, run.config);
  writeLocalState(state);
  const described = destinations.flatMap(({ standIn }) => (standIn.resource ? [standIn.resource] : []));
  const lines = [
    '',
    'Emulators are up (Ctrl-C stops them). Credentials: any; region us-east-1.',
    ...Object.entries(endpoints).map(([name, url]) => `  ${name.padEnd(12)} ${url}`),
    `  Accounts table ${resources.accountsTable}, ledger ${resources.ledgerTable}, stream ${resources.streamArn}`,
    ...(described.length > 0 ? [`  ${described.join(', ')}`] : []),
    ...destinations.map(({ name }) => `  ${name} dead-letter queue ${resources.deadLetterQueues[name]}`),
    ...destinations
      .filter(({ standIn }) => standIn.resource === undefined)
      .map(({ name, standIn }) => `  ${name}: ${Object.entries(standIn.environment).map(([key, value]) => `${key}=${value}`).join(' ')}`),
    `  ${fanoutHint(state)}`,
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
  try {
    if (signal.aborted) return;
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  } finally {
    removeLocalState();
  }
}

/** How to reach the run with `fanout --local`, or why `fanout` cannot work on it (its own reason). */
function fanoutHint(state: LocalState): string {
  try {
    void localTarget(state).close();
    return `fanout --local reads ${LOCAL_STATE_FILE}: try npm run fanout -- status --local`;
  } catch (error) {
    return `fanout --local cannot work on this run: ${error instanceof Error ? error.message : String(error)}`;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`npm start failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
