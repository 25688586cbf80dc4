// Before any SDK client is created (importing creates none): the SDK warns about Node versions, which would clutter
// the report.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { parseArgs } from 'node:util';
import { formatReport } from './report';
import { RUN_DEFAULTS, runLocal, type RunOptions } from './run';

const USAGE = `Usage: npm start -- [options]

Runs the local pipeline once: DynamoDB Local, a workload through the accounts writer, the table's stream bridged
into Kinesis-for-DynamoDB records on simulated shards with chaos, three ordering engines, then verification.
Exit code 0 only if no destination misses a version, sees one out of order or has records left parked.

  --accounts N          accounts to open (default ${RUN_DEFAULTS.accounts})
  --changes N           deposits, withdrawals and transfers after opening (default ${RUN_DEFAULTS.changes})
  --concurrency N       workload operations in flight (default ${RUN_DEFAULTS.concurrency})
  --rate N              workload operations started per second, 0 = unlimited (default 0)
  --duplicate-rate R    chance 0..1 that a record is sent twice (default ${RUN_DEFAULTS.duplicateRate})
  --reorder-rate R      chance 0..1 that a record is held back on its shard (default ${RUN_DEFAULTS.reorderRate})
  --reorder-window N    positions a held-back record moves at most (default ${RUN_DEFAULTS.reorderWindow})
  --seed N              seed of the workload plan and of the chaos (default ${RUN_DEFAULTS.seed})
  --batch-size N        records per batch per shard (default ${RUN_DEFAULTS.batchSize})
  --shards N            simulated Kinesis shards (default ${RUN_DEFAULTS.shards})
  --endpoint URL        use this running DynamoDB Local instead of starting one (tables get fresh names)
  --json                print the report as JSON on stdout (progress still goes to stderr)
  -h, --help            this text
`;

class UsageError extends Error {}

function parse(argv: string[]): { options: Omit<RunOptions, 'signal' | 'log'>; json: boolean } | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      accounts: { type: 'string' },
      changes: { type: 'string' },
      concurrency: { type: 'string' },
      rate: { type: 'string' },
      'duplicate-rate': { type: 'string' },
      'reorder-rate': { type: 'string' },
      'reorder-window': { type: 'string' },
      seed: { type: 'string' },
      'batch-size': { type: 'string' },
      shards: { type: 'string' },
      endpoint: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return undefined;
  const integer = (name: keyof typeof values, fallback: number, min: number): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name} must be an integer >= ${min}`);
    return value;
  };
  const rate = (name: keyof typeof values, fallback: number): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!(value >= 0 && value <= 1)) throw new UsageError(`--${name} must be a number between 0 and 1`);
    return value;
  };
  return {
    json: values.json === true,
    options: {
      accounts: integer('accounts', RUN_DEFAULTS.accounts, 2),
      changes: integer('changes', RUN_DEFAULTS.changes, 0),
      concurrency: integer('concurrency', RUN_DEFAULTS.concurrency, 1),
      ratePerSecond: integer('rate', 0, 0),
      duplicateRate: rate('duplicate-rate', RUN_DEFAULTS.duplicateRate),
      reorderRate: rate('reorder-rate', RUN_DEFAULTS.reorderRate),
      reorderWindow: integer('reorder-window', RUN_DEFAULTS.reorderWindow, 0),
      seed: integer('seed', RUN_DEFAULTS.seed, 0),
      batchSize: integer('batch-size', RUN_DEFAULTS.batchSize, 1),
      shards: integer('shards', RUN_DEFAULTS.shards, 1),
      ...(typeof values.endpoint === 'string' ? { endpoint: values.endpoint } : {}),
    },
  };
}

async function main(): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!parsed) {
    process.stdout.write(USAGE);
    return 0;
  }

  const controller = new AbortController();
  let interrupts = 0;
  const interrupt = (signal: NodeJS.Signals): void => {
    interrupts += 1;
    // A second Ctrl-C means "now": the emulator's own exit hook still kills the JVM.
    if (interrupts > 1) process.exit(130);
    process.stderr.write(`\n${signal}: stopping DynamoDB Local and exiting (again to force)\n`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  try {
    const report = await runLocal({
      ...parsed.options,
      signal: controller.signal,
      log: (message) => process.stderr.write(`· ${message}\n`),
    });
    process.stdout.write(parsed.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    return report.ok ? 0 : 1;
  } catch (error) {
    if (controller.signal.aborted) return 130;
    process.stderr.write(`local run failed: ${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
  }
}

process.exitCode = await main();
