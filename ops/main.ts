process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isShipped, SHIPPED_DESTINATIONS } from '../destinations/runtime-registry';
import { DESTINATION_NAME_PATTERN } from './destinations';
import { DEAD_LETTER_REASONS } from '../shared/ordering/ports';
import { reconcile } from './commands/reconcile';
import { redrive } from './commands/redrive';
import { MAX_REDRIVE_BATCH, skipReasonError } from './commands/redrive-options';
import { planCommand } from './commands/plan';
import { MAX_ACCOUNT_ITEM_BYTES } from './plan/plan';
import { LOCAL_STATE_FILE } from '../local/pipeline/local-state';
import { makeDirectory, wholeNumber } from './cli-args';
import { parseGapSkip, type GapSkip } from './commands/redrive-gaps';
import { replay } from './commands/replay';
import { status } from './commands/status';
import { statusWatch, WATCH_REPORT_DIR } from './commands/status-watch';
import type { CommandIO } from './io';
import { resolveTarget, type PipelineTarget, type TargetOptions } from './target';

/** `plan` plans the destinations that ship with the package, or a --runtime module brings: it needs their modes. */
const shipped = (value: string): string => {
  if (!isShipped(value)) throw new InvalidArgumentError(`no destination "${value}" ships with fanout: one of ${SHIPPED_DESTINATIONS.join(', ')}, or pass its runtime half with --runtime <module>`);
  return value;
};
/**
 * A built-in's or a plug-in's name. Only its form is checked here: which destinations exist is the target's to say
 * (its state file, or its stack output `Destinations`), and a name it lacks fails there, naming the ones it has.
 */
const destination = (value: string): string => {
  if (!DESTINATION_NAME_PATTERN.test(value)) throw new InvalidArgumentError(`not a destination name (lower-case letters, digits and '-', e.g. ${SHIPPED_DESTINATIONS.join(', ')})`);
  return value;
};
const seconds = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return parsed;
};
const nonNegative = (value: string): number => {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError('must be a number, 0 or more');
  return parsed;
};
const positive = (value: string): number => wholeNumber(value, 1, 'must be a positive integer');

/** Target options every command takes. */
const skipGap = (value: string, previous: GapSkip[] = []): GapSkip[] => {
  try {
    return [...previous, parseGapSkip(value)];
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};
const reasons = (value: string): string[] => {
  const list = value.split(',').map((reason) => reason.trim()).filter(Boolean);
  const unknown = list.filter((reason) => !(DEAD_LETTER_REASONS as readonly string[]).includes(reason));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown reason ${unknown.join(', ')}: one of ${DEAD_LETTER_REASONS.join(', ')}`);
  return list;
};

/** `value`, unless over `max`: then refused, with `why` when there is one. */
const atMost = (max: number, value: number, why?: string): number => {
  if (value > max) throw new InvalidArgumentError(`must be at most ${max}${why === undefined ? '' : `: ${why}`}`);
  return value;
};

const itemBytes = (value: string): number => atMost(MAX_ACCOUNT_ITEM_BYTES, positive(value), 'DynamoDB stores items of at most 400 KB');

/** `--report-dir` for the option value name `reportDir`. */
const optionFlag = (name: string): string => `--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;

/** A repeatable option's values, in order. */
const repeated = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `--runtime` modules, loaded only when given: the loader pulls in the SDK's client options. */
async function runtimeModules(modules: string[] | undefined) {
  if (modules === undefined) return {};
  return (await import('./plugin-runtimes')).loadRuntimeModules(modules);
}

function targeted(command: Command): Command {
  return command
    // A switch, not `--local [file]`: an optional value would take the destination that follows it for a file.
    .option('--local', 'work on the local pipeline of npm start -- --keep-running', false)
    .option('--state-file <path>', `the local pipeline's state file (implies --local; default ${LOCAL_STATE_FILE})`)
    .option('--stack <name>', 'the deployed stack', 'OrderedFanout')
    .option('--pipeline <name>', 'the pipeline (its pipelineName) when the stack holds several')
    .option('--region <region>', 'the stack\'s region (default: the AWS SDK\'s)')
    .option('--json', 'print the result as JSON', false);
}

function consoleIO(json: boolean): CommandIO & { done(): void } {
  const interactive = process.stderr.isTTY === true && !json;
  let bars: MultiBar | undefined;
  const byLabel = new Map<string, SingleBar>();
  return {
    json,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    progress(label, done, total) {
      if (!interactive) return;
      bars ??= new MultiBar({ format: ' {label} [{bar}] {value}/{total}', hideCursor: true, stream: process.stderr }, Presets.shades_classic);
      let bar = byLabel.get(label);
      if (!bar) byLabel.set(label, (bar = bars.create(total, 0, { label: label.padEnd(10) })));
      bar.setTotal(Math.max(total, done));
      bar.update(done, { label: label.padEnd(10) });
    },
    done: () => bars?.stop(),
  };
}

async function withTarget(
  options: TargetOptions & { json?: boolean; stateFile?: string },
  work: (target: PipelineTarget, io: CommandIO) => Promise<number>,
): Promise<void> {
  const io = consoleIO(options.json === true);
  let target: PipelineTarget | undefined;
  try {
    target = await resolveTarget({ ...options, local: options.stateFile ?? options.local });
    process.exitCode = await work(target, io);
  } finally {
    io.done();
    await target?.close();
  }
}

const program = new Command('fanout').description(
  'Operations on an ordered-fanout pipeline: a deployed stack (resolved from its CloudFormation outputs) or, with\n--local, the local pipeline of npm start -- --keep-running.',
);
// Exit codes: 0 done, 1 the check or the work found something wrong (out of sync, still failing), 2 the request was
// refused. Commander exits 1 on an argument it refuses; it throws instead (its message is out) and the catch at the
// end exits 2. Set before the commands are made: they take it from the program then.
program.exitOverride();

targeted(program.command('status'))
  .description('per destination: epoch, starting position, EFO consumer, accounts behind, parked records, dead letters')
  .addOption(new Option('--destination <name>', 'only this destination (a built-in or a plug-in)').argParser(destination))
  .option('--watch', `again every --interval until Ctrl-C, writing ${WATCH_REPORT_DIR}/report.html after each`, false)
  .option('--interval <seconds>', 'with --watch: seconds between snapshots', seconds, 10)
  .option('--iterations <n>', 'with --watch: stop after this many snapshots', positive)
  .option('--report-dir <dir>', 'with --watch: where report.html and report.json go', WATCH_REPORT_DIR)
  .action((options, command: Command) => {
    const watchOnly = ['interval', 'iterations', 'reportDir'].filter((name) => command.getOptionValueSource(name) === 'cli');
    if (!options.watch && watchOnly.length > 0) command.error(`error: ${watchOnly.map(optionFlag).join(', ')} only with --watch`);
    // Made now, so a directory that cannot be is refused before the first snapshot rather than after it.
    if (options.watch) {
      makeDirectory('--report-dir <dir>', options.reportDir, (message) => command.error(message));
    }
    return withTarget(options, (target, io) => {
      if (!options.watch) return status(target, { destination: options.destination }, io);
      // Ctrl-C ends the watch after the snapshot in progress, so the report is complete; a second one exits at once.
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      return statusWatch(
        target,
        {
          ...(options.destination ? { destination: options.destination } : {}),
          intervalSeconds: options.interval,
          ...(options.iterations ? { iterations: options.iterations } : {}),
          reportDir: options.reportDir,
          signal: abort.signal,
          redraw: process.stdout.isTTY === true && !options.json,
          command: ['fanout', ...process.argv.slice(2)].join(' '),
        },
        // No progress bars: they would fight the redrawn table.
        { ...io, progress: () => undefined },
      );
    });
  });

targeted(program.command('reconcile'))
  .description("compares every account's version in the table with each destination's watermark (and contents)")
  .addOption(new Option('--destination <name>', 'only this destination').argParser(destination))
  .option('--contents', "also read the destinations themselves (audit objects, search documents, a plug-in's reconcile reader)", false)
  .option('--repair', 're-deliver the current state of what is behind to latest-state destinations (search)', false)
  .option('--segments <n>', 'parallel scan segments', positive, 4)
  .option('--runtime <module>', "the runtime half of a plug-in of your own CDK app, for --contents and --repair (repeatable)", repeated)
  .action((options) =>
    withTarget(options, async (target, io) =>
      reconcile(
        target,
        { destination: options.destination, contents: options.contents, repair: options.repair, segments: options.segments, runtimes: await runtimeModules(options.runtime) },
        io,
      ),
    ),
  );

targeted(program.command('redrive'))
  .description("drains a destination's dead-letter queue back through the ordering engine")
  .argument('<destination>', `${SHIPPED_DESTINATIONS.join(' | ')} | a plug-in of your own`, destination)
  .option('--dry-run', 'read and count the letters, change nothing', false)
  .option('--max <n>', 'redrive at most this many letters', positive)
  .option('--batch-size <n>', `records per invocation (at most ${MAX_REDRIVE_BATCH}, as a Kinesis mapping)`, (value: string) => atMost(MAX_REDRIVE_BATCH, positive(value)), 100)
  .option('--skip-bad', 'leave BAD_RECORD letters in the queue', false)
  .option('--skip-gap <account@version>', 'first give up on the account\'s missing versions through <version> (repeatable; needs --reason)', skipGap)
  .option('--reason <text>', 'why the gaps are skipped: kept in the ledger with the skip')
  .option('--acknowledge <reasons>', 'report and delete letters of these reasons (comma list) instead of redriving them', reasons)
  .option('--delete-gap-timeouts', 'the same as --acknowledge GAP_TIMEOUT', false)
  .option('--settle-seconds <s>', 'then revisit in-order accounts whose redriven version waits for their home lane or a fence, for up to this long (0: leave them to the sweeper)', nonNegative, 30)
  .action((name: string, options, command: Command) => {
    // The pairs redrive itself refuses, refused here too, before the target is looked for (a missing local pipeline
    // would otherwise be the only complaint).
    const unpaired = skipReasonError(options.skipGap?.length ?? 0, options.reason);
    if (unpaired !== undefined) command.error(`error: ${unpaired}`);
    return withTarget(options, (target, io) =>
      redrive(
        target,
        {
          destination: name,
          dryRun: options.dryRun,
          ...(options.max ? { max: options.max } : {}),
          batchSize: options.batchSize,
          skipBad: options.skipBad,
          deleteGapTimeouts: options.deleteGapTimeouts,
          ...(options.acknowledge ? { acknowledge: options.acknowledge } : {}),
          ...(options.skipGap ? { skipGaps: options.skipGap } : {}),
          ...(options.reason !== undefined ? { reason: options.reason } : {}),
          settleMs: options.settleSeconds * 1000,
        },
        io,
      ),
    );
  });

targeted(program.command('replay'))
  .description('re-delivers a destination from a point in time under a new ledger epoch (plan; --apply to do it)')
  .argument('<destination>', `${SHIPPED_DESTINATIONS.join(' | ')} | a plug-in of your own`, destination)
  .requiredOption('--from <time>', 'ISO 8601 time to replay from')
  .option('--epoch <name>', 'the new ledger epoch, never used before (default replay-<from>-<now>)')
  .option('--config <file>', 'the stack configuration file to update (AWS)', 'pipeline.json')
  .option('--apply', 'apply the plan: AWS, update the configuration and cdk deploy; local, replay now', false)
  .option('--timeout <seconds>', 'local: how long the catch-up may take', positive, 300)
  .action((name: string, options) =>
    withTarget(options, (target, io) =>
      replay(
        target,
        {
          destination: name,
          from: options.from,
          ...(options.epoch ? { epoch: options.epoch } : {}),
          configFile: options.config,
          apply: options.apply,
          timeoutSeconds: options.timeout,
          ...(options.local ? {} : { stack: options.stack }),
        },
        io,
      ),
    ),
  );

// Only the form here: a name that does not ship may be one a --runtime module brings (checked once they are loaded).
const destinationList = (value: string): string[] => [...new Set(value.split(',').map((name) => destination(name.trim())))];

program
  .command('plan')
  .description('capacity and monthly cost of a load (us-east-1 list prices, dated), and the first limit it hits; no AWS calls')
  .requiredOption('--writes-per-second <n>', 'item writes per second to the Accounts table', positive)
  .requiredOption('--accounts <n>', 'accounts the writes are spread over (uniformly)', positive)
  .requiredOption('--item-bytes <n>', `bytes of an account item (at most ${MAX_ACCOUNT_ITEM_BYTES}, DynamoDB's 400 KB)`, itemBytes)
  .option('--destinations <list>', `comma list of destinations (${SHIPPED_DESTINATIONS.join(', ')}, or one of a --runtime module; default the built-ins)`, destinationList)
  .option('--runtime <module>', 'the runtime half of a plug-in of your own CDK app, planned by its mode (repeatable)', repeated)
  .option('--replay-days <n>', 'how far back a replay reads', nonNegative, 0)
  .option('--batch-ms <n>', 'assumed Lambda time per batch', positive, 200)
  .option('--simulate', 'check the ledger figures by running the engine over a synthetic sample', false)
  .option('--json', 'print the result as JSON', false)
  .action(async (options, command: Command) => {
    const io = consoleIO(options.json === true);
    const runtimes = await runtimeModules(options.runtime);
    // Checked once the --runtime modules are loaded: a name they bring is not one that ships. Refused as the parser
    // refuses (message, exit 2): commander prints only what it throws itself.
    for (const name of options.destinations ?? []) {
      if (Object.hasOwn(runtimes, name)) continue;
      try {
        shipped(name);
      } catch (error) {
        command.error(`error: option '--destinations <list>' argument '${name}' is invalid. ${(error as Error).message}`);
      }
    }
    process.exitCode = await planCommand(
      {
        writesPerSecond: options.writesPerSecond,
        accounts: options.accounts,
        itemBytes: options.itemBytes,
        ...(options.destinations ? { destinations: options.destinations } : {}),
        runtimes,
        replayDays: options.replayDays,
        batchMs: options.batchMs,
        simulate: options.simulate,
      },
      io,
    );
  });

program.parseAsync().catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : 2;
    return;
  }
  process.stderr.write(`fanout: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
