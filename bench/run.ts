process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { startDynamoDBLocal, type RunningDynamoDBLocal } from '../local/emulators/dynamodb-local';
import { measureThroughput, VARIANTS, type ThroughputReport } from './engine-throughput';
import { table } from './format';
import { CONTENDERS, measureLedgerCost, type ContenderCost } from './ledger-cost';
import { measurePermanentGap } from './permanent-gap';
import { measureScale, type ScaleRow, type ScaleShape } from './scale';
import { ledgerWorkload, round, throughputWorkload, type ThroughputWorkload } from './workloads';

/**
 * `npm run bench`: (a) engine throughput against decode-only pass-through, with an in-memory ledger; (b) ledger
 * requests per record on DynamoDB Local, against a naive conditional update and Powertools idempotency; (c) the cost
 * per batch behind a gap that never fills.
 * Writes bench/results.json. BENCH_ROUNDS / BENCH_WARMUP change the number of measured / warm-up rounds of (a).
 */
const GOAL_OVERHEAD = 1.5;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1);
const log = (line: string) => console.log(line);

async function engineSection(workload: ThroughputWorkload) {
  const s = workload.stats;
  log(`\n(a) Engine throughput: ${s.records.toLocaleString('en-US')} records (${s.uniqueChanges.toLocaleString('en-US')} changes of ${workload.options.accounts} accounts, ${s.duplicates} duplicates, ${s.swaps} adjacent-version swaps) in ${s.batches} batches of ${workload.options.batchSize}, ~${s.meanAccountsPerBatch} accounts per batch`);
  log(`    ${WARMUP} warm-up round(s) on 30% of the batches, then median of ${ROUNDS} rounds, variants round-robin`);
  const report = await measureThroughput(workload, { rounds: ROUNDS, warmupRounds: WARMUP, warmupFraction: 0.3, log });
  const variants = Object.entries(report.variants);
  const defaults = variants.filter(([, v]) => v.isDefault);
  const [worstKey, worst] = defaults.reduce((a, b) => (b[1].recordsPerSecond < a[1].recordsPerSecond ? b : a));
  const missed = variants.filter(([, v]) => v.overheadRatio > GOAL_OVERHEAD).map(([, v]) => v.label);
  log('');
  log(
    table(
      ['mode', 'records/s', 'overhead ×', 'paired ×', 'CPU ×', 'median ms', 'dest calls/batch', 'ledger w/rec (mem)', 'delivered', 'healed', 'duplicates', 'stale', 'parked'],
      [
        ['pass-through (decode only)', report.passThrough.recordsPerSecond, 1, 1, 1, report.passThrough.medianMs, 1, null, null, null, null, null, null],
        ...variants.map(([, v]) => [
          `${v.label}${v.isDefault ? '' : ' [opt-in]'}`,
          v.recordsPerSecond,
          v.overheadRatio,
          v.overheadRatioPairedMedian,
          v.cpuOverheadRatio,
          v.medianMs,
          v.destinationCallsPerBatch,
          v.inMemoryLedgerWritesPerRecord,
          v.counts.delivered,
          v.counts.healed,
          v.counts.duplicates,
          v.counts.stale,
          v.counts.parked,
        ]),
      ],
    ),
  );
  log('overhead × = pass-through records/s ÷ mode records/s (median wall times); paired × = median of per-round ratios; CPU × = ratio of median process CPU times');
  log(`worst default mode: ${worst.label}, ${worst.overheadRatio}× pass-through (goal ≤ ${GOAL_OVERHEAD}×: ${missed.length === 0 ? 'met' : `missed by ${missed.join(', ')}`})`);
  return engineJson(workload, report, worstKey, missed);
}

function engineJson(workload: ThroughputWorkload, report: ThroughputReport, worstKey: string, missed: string[]) {
  const worst = report.variants[worstKey];
  if (!worst) throw new Error('no engine result');
  return {
    recordsPerSecond: worst.recordsPerSecond,
    passThroughRecordsPerSecond: report.passThrough.recordsPerSecond,
    overheadRatio: worst.overheadRatio,
    worstMode: worst.label,
    worstModeNote: 'recordsPerSecond and overheadRatio are those of the slowest mode at default settings',
    goal: { maxOverheadRatio: GOAL_OVERHEAD, met: missed.length === 0, missedBy: missed },
    method:
      'Per batch: decodeChangeRecord on every base64 Kinesis record, then (pass-through) one no-op Destination.deliver call, or (engine) OrderingEngine.process with a fresh InMemoryLedger per run, a no-op destination and dead-letter queue. Batches sequential, like one Lambda per shard. Median wall time of the measured rounds; overheadRatio = passThroughRecordsPerSecond / recordsPerSecond.',
    workload: { ...workload.options, ...workload.stats },
    rounds: report.rounds,
    warmupRounds: report.warmupRounds,
    warmupBatches: report.warmupBatches,
    passThrough: report.passThrough,
    modes: report.variants,
    profileCommand: 'npx tsx bench/profile.ts [everyVersion|latestState|inOrder|inOrderPerBatch]: where the time goes, and the same runs without the in-memory ledger copies',
  };
}

function ledgerJson(results: Record<string, ContenderCost>) {
  const get = (key: string) => results[key] as ContenderCost;
  const defaults = VARIANTS.filter((v) => v.isDefault).map((v) => CONTENDERS.find((c) => c.label === `engine ${v.label}`)?.key ?? '');
  const worstKey = defaults.reduce((a, b) => (get(b).writeRequestsPerRecord > get(a).writeRequestsPerRecord ? b : a));
  const w = (key: string) => get(key).writeRequestsPerRecord;
  const engineKeys = CONTENDERS.filter((c) => c.key.startsWith('engine')).map((c) => c.key);
  const ratio = (a: number, b: number) => (b === 0 ? null : round(a / b, 2));
  return {
    engine: w(worstKey),
    engineWorstMode: get(worstKey).label.replace(/^engine /, ''),
    ...Object.fromEntries(engineKeys.map((key) => [key, w(key)])),
    naive: w('naive'),
    powertools: w('powertools'),
    powertoolsOverEngine: Object.fromEntries(engineKeys.map((key) => [key, ratio(w('powertools'), w(key))])),
    naiveOverEngine: Object.fromEntries(engineKeys.map((key) => [key, ratio(w('naive'), w(key))])),
    detail: results,
  };
}

async function permanentGapSection() {
  log('\n(c) A gap that never fills: 100,000 versions of one account behind missing versions 2-3, batches of 100 (+20 other accounts each)');
  const rows = [await measurePermanentGap('in-order', 'in-order (per-version)', 10_000), await measurePermanentGap('every-version', 'every-version')];
  log(
    table(
      ['mode', 'batches', 'first batches ms', 'last batches ms', 'growth ×', 'failed', 'item bytes', 'ranges', 'drain invocations (10 s)'],
      rows.map((r) => [r.mode, r.batches, r.firstBatchesMedianMs, r.lastBatchesMedianMs, r.growth, r.failedRecords, r.watermarkItemBytes, r.rangesInItem, r.drainInvocations ?? null]),
    ),
  );
  log('first/last batches ms: median per-batch time of 20 batches after warm-up and of the last 20; growth × = last ÷ first (flat ≈ 1)');
  return {
    method: 'In-memory ledger, no-op destination. One account: version 1, then versions 4..100,003 (2 and 3 never arrive) in batches of 100, each with one version of 20 other accounts. Then (in-order) skipGap through 3 and resume until nothing is parked, each call with a 10 s deadline.',
    rows: Object.fromEntries(rows.map((r) => [r.mode, r])),
  };
}

/** Records of the large scale run; the small one is a tenth. */
const SCALE_RECORDS = Number(process.env.BENCH_SCALE_RECORDS ?? 1_000_000);
const SCALE_GOAL = 1.2;

async function scaleSection() {
  const shapes: [ScaleShape, number][] = [['cold', 100_000], ['hot', 100]];
  const small = Math.round(SCALE_RECORDS / 10);
  log(`\n(d) Scale: ${small.toLocaleString('en-US')} and ${SCALE_RECORDS.toLocaleString('en-US')} records (+1% duplicates), generated batch by batch; cold: 100,000 accounts, one version each per batch; hot: 100 accounts, 10 versions each per batch`);
  const rows: ScaleRow[] = [];
  const variants = [undefined, ...VARIANTS.filter((variant) => variant.isDefault)];
  for (const [shape, accounts] of shapes) {
    for (const variant of variants) {
      for (const records of [small, SCALE_RECORDS]) rows.push(await measureScale(shape, accounts, records, variant));
    }
  }
  const growth = (row: ScaleRow) => {
    const smaller = rows.find((r) => r.shape === row.shape && r.variant === row.variant && r.records < row.records);
    return smaller ? round(row.cpuMicrosPerRecord / smaller.cpuMicrosPerRecord, 2) : null;
  };
  log(
    table(
      ['shape', 'mode', 'records', 'records/s', 'CPU µs/record', '× the smaller run', 'ledger w/rec (mem)', 'peak heap MiB'],
      rows.map((r) => [r.shape, r.variant, r.records, r.recordsPerSecond, r.cpuMicrosPerRecord, growth(r), r.ledgerWritesPerRecord, r.peakHeapMiB]),
    ),
  );
  const missed = rows.filter((r) => (growth(r) ?? 0) > SCALE_GOAL).map((r) => `${r.shape} ${r.variant}`);
  log(`per-record CPU at ${SCALE_RECORDS.toLocaleString('en-US')} within ${SCALE_GOAL}× of ${small.toLocaleString('en-US')}: ${missed.length === 0 ? 'met' : `missed by ${missed.join(', ')}`}`);
  return {
    method: 'In-memory ledger, no-op destination, batches of 100 generated on the fly (never the whole stream in memory); decode and engine timed, generation not. Peak heap includes the ledger and the generator, which hold per-account state.',
    goal: `CPU per record at the large run within ${SCALE_GOAL}× of the small run`,
    met: missed.length === 0,
    rows: rows.map((r) => ({ ...r, growth: growth(r) })),
  };
}

async function ledgerSection(dynamodbStarting: Promise<RunningDynamoDBLocal>) {
  const workloads = [
    ledgerWorkload('hot', { accounts: 10, batches: 20, batchSize: 100, seed: 7 }),
    ledgerWorkload('cold', { accounts: 100, batches: 20, batchSize: 100, seed: 11 }),
  ];
  log('\n(b) Ledger cost on DynamoDB Local');
  for (const workload of workloads) log(`    ${workload.name}: ${workload.description}`);
  const dynamodb = await dynamodbStarting;
  const results = await measureLedgerCost({ endpoint: dynamodb.endpoint, workloads, log });
  const all = Object.values(results).flatMap((perContender) => Object.values(perContender));
  const reported = all.reduce((sum, r) => sum + r.counts.capacityReported, 0);
  const missing = all.reduce((sum, r) => sum + r.counts.capacityMissing, 0);
  const capacityNote =
    missing === 0
      ? `DynamoDB Local returned ConsumedCapacity on all ${reported} capacity-aware responses`
      : `DynamoDB Local returned ConsumedCapacity on ${reported} and omitted it on ${missing} capacity-aware responses; write units reported only where every response carried it`;
  const json: Record<string, unknown> = {};
  for (const workload of workloads) {
    const perContender = results[workload.name] ?? {};
    log(`\n${workload.name}: ${workload.description}`);
    log(
      table(
        ['contender', 'writes/rec', 'reads/rec', 'requests/rec', 'WCU/rec', 'RCU/rec', 'requests by command'],
        Object.values(perContender).map((r) => [
          r.label,
          r.writeRequestsPerRecord,
          r.readRequestsPerRecord,
          r.requestsPerRecord,
          r.writeUnitsPerRecord,
          r.readUnitsPerRecord,
          Object.entries(r.counts.byCommand)
            .map(([command, n]) => `${command.replace(/Command$/, '')} ${n}`)
            .join(', '),
        ]),
      ),
    );
    const section = ledgerJson(perContender);
    log(`worst default engine mode: ${section.engineWorstMode}; powertools/engine writes: ${Object.entries(section.powertoolsOverEngine).map(([k, v]) => `${k} ${v}×`).join(', ')}`);
    json[workload.name] = { workload: workload.description, ...section };
  }
  log(`\n${capacityNote}`);
  return {
    unit: 'item-level DynamoDB write requests per input record (BatchWriteItem counts its items, TransactWriteItems its items)',
    method:
      'AWS SDK middleware on each contender\'s own DynamoDBClient: at the initialize step it counts commands by name, item-level writes and reads, and adds ReturnConsumedCapacity: TOTAL; at the deserialize step it counts HTTP attempts. Fresh table per contender and workload; naive and powertools process each account\'s records in order, accounts concurrently.',
    consumedCapacity: capacityNote,
    ...json,
  };
}

/** The commit measured, and whether the engine and ledger sources differed from it (read-only git calls). */
function sourceVersion(): { commit: string; uncommittedChangesIn: string[] } | undefined {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = git('status', '--porcelain', '--', 'shared').split('\n').filter(Boolean).map((line) => line.slice(3));
    return { commit: git('rev-parse', '--short', 'HEAD'), uncommittedChangesIn: dirty };
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadBefore = loadavg().map((n) => round(n, 2));
  log(`ordered-fanout bench — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadBefore.join(' ')}`);
  // DynamoDB Local (a JVM) starts while the workload is generated and the engine warms up; it idles during (a).
  const dynamodbStarting = startDynamoDBLocal();
  dynamodbStarting.catch(() => undefined);
  let engine: Awaited<ReturnType<typeof engineSection>>;
  let permanentGap: Awaited<ReturnType<typeof permanentGapSection>>;
  let ledger: Awaited<ReturnType<typeof ledgerSection>>;
  let scale: Awaited<ReturnType<typeof scaleSection>> | undefined;
  let loadAfterEngine: number[];
  try {
    const workload = throughputWorkload();
    engine = await engineSection(workload);
    loadAfterEngine = loadavg().map((n) => round(n, 2));
    permanentGap = await permanentGapSection();
    ledger = await ledgerSection(dynamodbStarting);
    if (SCALE_RECORDS > 0) scale = await scaleSection();
  } finally {
    await dynamodbStarting.then((dynamodb) => dynamodb.stop(), () => undefined);
  }
  const results = {
    generatedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      platform: process.platform,
      source: sourceVersion(),
      loadAverageBefore: loadBefore,
      loadAverageAfterEngine: loadAfterEngine,
      note: 'load averages (1, 5, 15 min) show whether other work shared the machine during the throughput runs',
    },
    engine,
    permanentGap,
    ledger,
    ...(scale ? { scale } : {}),
  };
  const file = new URL('./results.json', import.meta.url);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  log(`\nwrote ${file.pathname} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
