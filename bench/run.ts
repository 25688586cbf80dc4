process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynamoDBLocal, type RunningDynamoDBLocal } from '../local/emulators/dynamodb-local';
import { measureThroughput, VARIANTS, type ThroughputReport } from './engine-throughput';
import { table } from './format';
import { CONTENDERS, measureLedgerCost, type ContenderCost } from './ledger-cost';
import { measurePermanentGap } from './permanent-gap';
import type { ScaleRow, ScaleShape } from './scale';
import { measureScalePair, scaleNodeFlags } from './scale-pair';
import { bundle, functionNodeFlags } from './bundled';
import { PASS } from './contenders';
import { latencySection } from './latency-section';
import { ledgerWorkload, round, throughputWorkload, type ThroughputWorkload } from './workloads';

/**
 * `npm run bench`: (a) engine throughput against decode-only pass-through, with an in-memory ledger; (b) ledger
 * requests per record on DynamoDB Local, against a naive conditional update and Powertools idempotency; (c) the cost
 * per batch behind a gap that never fills; (d) scale; (e) commit → delivery latency of short local pipeline runs, per
 * batching window. (e) runs first, while the machine has not yet been loaded by the others, and (e) and (a) each start
 * once the load average has settled (`BENCH_SETTLE_LOAD`, default 0.6; at most `BENCH_SETTLE_MAX_S`, default 180 s).
 * Writes bench/results.json. BENCH_ROUNDS / BENCH_WARMUP change the number of measured / warm-up rounds of (a).
 * BENCH_LATENCY=0 skips (e), BENCH_LATENCY_CHANGES sets its operations per run. BENCH_ONLY=latency runs (e) alone and
 * BENCH_ONLY=engine runs (a) alone (a quick look at the engine's overhead, e.g. on a quiet machine), BENCH_ONLY=ledger
 * (b) alone, BENCH_ONLY=scale (d) alone; each writes its results to BENCH_OUT (default: a file in the temporary directory), never to
 * bench/results.json.
 */
const GOAL_OVERHEAD = 1.2;
// Nine: each round has fresh processes, and a round's ratio moves by ±0.1 on this shared machine.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1);
const log = (line: string) => console.log(line);

async function engineSection() {
  const workload = throughputWorkload();
  const s = workload.stats;
  log(`\n(a) Engine throughput: ${s.records.toLocaleString('en-US')} records (${s.uniqueChanges.toLocaleString('en-US')} changes of ${workload.options.accounts} accounts, ${s.duplicates} duplicates, ${s.swaps} adjacent-version swaps) in ${s.batches} batches of ${workload.options.batchSize}, ~${s.meanAccountsPerBatch} accounts per batch`);
  log(`    each contender in a process of its own, bundled as the functions are; ${ROUNDS} rounds, each in fresh processes warmed up with ${WARMUP} round(s) on 30% of the batches; in each, pass-through and every mode take turns on chunks of 10 batches`);
  const report = await measureThroughput(workload, { rounds: ROUNDS, warmupRounds: WARMUP, warmupFraction: 0.3, log });
  const variants = Object.entries(report.variants);
  const defaults = variants.filter(([, v]) => v.isDefault);
  const [worstKey, worst] = defaults.reduce((a, b) => (b[1].recordsPerSecond < a[1].recordsPerSecond ? b : a));
  const missed = variants.filter(([, v]) => v.overheadRatio > GOAL_OVERHEAD).map(([, v]) => v.label);
  log('');
  log(
    table(
      ['mode', 'records/s', 'overhead ×', 'of medians ×', 'CPU ×', 'median ms', 'dest calls/batch', 'ledger w/rec (mem)', 'delivered', 'healed', 'duplicates', 'stale', 'parked'],
      [
        ['pass-through (decode only)', report.passThrough.recordsPerSecond, 1, 1, 1, report.passThrough.medianMs, 1, null, null, null, null, null, null],
        ...variants.map(([, v]) => [
          `${v.label}${v.isDefault ? '' : ' [opt-in]'}`,
          v.recordsPerSecond,
          v.overheadRatio,
          v.overheadRatioOfMedians,
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
  log('overhead × = median over rounds of mode wall time ÷ pass-through wall time in the same round (same interleaved chunks); of medians × = ratio of median wall times; CPU × = the per-round ratio on process CPU time');
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
      'Per batch: decodeChangeRecord on every base64 Kinesis record, then (pass-through) one no-op Destination.deliver call, or (engine) OrderingEngine.process with a fresh InMemoryLedger per run, a no-op destination and dead-letter queue; the no-op destination answers on a later turn of the event loop, as a call over the network does. Batches sequential per contender, like one Lambda per shard. Each contender runs in a process of its own (bundled as the functions are, with the heap of a 512 MB function), fresh every round and warmed up on 30% of the batches; each round runs pass-through and every mode over the same batches, taking turns on chunks of 10 batches (order rotating per chunk), so load from elsewhere on the machine lands on all of them alike; overheadRatio = median over rounds of (mode wall time / pass-through wall time of that round); recordsPerSecond from the median wall time.',
    workload: { ...workload.options, ...workload.stats },
    rounds: report.rounds,
    warmupRounds: report.warmupRounds,
    warmupBatches: report.warmupBatches,
    passThrough: report.passThrough,
    modes: report.variants,
    profileCommand: 'npx tsx bench/profile.ts [everyVersion|latestState|inOrder|inOrderPerBatch]: where the time goes, and the same runs without the in-memory ledger copies',
  };
}

/** Ledger writes per record the issue asks of every mode at its default settings, on established accounts. */
const LEDGER_GOAL = { hot: 0.15, cold: 1.0 } as const;

function ledgerJson(name: 'hot' | 'cold', results: Record<string, ContenderCost>) {
  const get = (key: string) => results[key] as ContenderCost;
  const defaults = VARIANTS.filter((v) => v.isDefault).map((v) => CONTENDERS.find((c) => c.label === `engine ${v.label}`)?.key ?? '');
  const worstKey = defaults.reduce((a, b) => (get(b).writeRequestsPerRecord > get(a).writeRequestsPerRecord ? b : a));
  const w = (key: string) => get(key).writeRequestsPerRecord;
  const engineKeys = CONTENDERS.filter((c) => c.key.startsWith('engine')).map((c) => c.key);
  const ratio = (a: number, b: number) => (b === 0 ? null : round(a / b, 2));
  const label = (key: string) => get(key).label.replace(/^engine /, '');
  const missed = defaults.filter((key) => w(key) > LEDGER_GOAL[name]).map(label);
  return {
    engine: w(worstKey),
    engineWorstMode: label(worstKey),
    ...Object.fromEntries(engineKeys.map((key) => [key, w(key)])),
    naive: w('naive'),
    powertools: w('powertools'),
    // The same contenders over the accounts' first batches: an in-order account's first claimed batches claim its home.
    newAccounts: Object.fromEntries([...engineKeys, 'naive', 'powertools'].map((key) => [key, get(key).newAccounts.writeRequestsPerRecord])),
    powertoolsOverEngine: Object.fromEntries(engineKeys.map((key) => [key, ratio(w('powertools'), w(key))])),
    naiveOverEngine: Object.fromEntries(engineKeys.map((key) => [key, ratio(w('naive'), w(key))])),
    goal: { maxWritesPerRecord: LEDGER_GOAL[name], of: 'every mode at its default settings, established accounts', met: missed.length === 0, missedBy: missed },
    detail: results,
  };
}

async function permanentGapSection() {
  log('\n(c) A gap that never fills: 100,000 versions of one account behind missing versions 2-3, batches of 100 (+20 other accounts each)');
  const rows = [await measurePermanentGap('in-order', 'in-order (per-batch)', 10_000), await measurePermanentGap('every-version', 'every-version')];
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
  log(`\n(d) Scale: ${small.toLocaleString('en-US')} and ${SCALE_RECORDS.toLocaleString('en-US')} records (+1% duplicates), generated batch by batch after two untimed rounds of history per account; cold: 100,000 accounts, one version each per batch; hot: 100 accounts, 10 versions each per batch`);
  const rows: (ScaleRow & { readonly growth: number | null })[] = [];
  const variants = [PASS, ...VARIANTS.filter((variant) => variant.isDefault).map((variant) => variant.key)];
  const child = await bundle('bench/scale-child.ts');
  try {
    for (const [shape, accounts] of shapes) {
      for (const variant of variants) {
        const [smaller, larger] = await measureScalePair(child, scaleNodeFlags(functionNodeFlags()), { shape, accounts, variant }, small, SCALE_RECORDS);
        rows.push({ ...smaller, growth: null }, { ...larger, growth: round(larger.cpuMicrosPerRecord / smaller.cpuMicrosPerRecord, 2) });
        log(`  ${shape} ${larger.variant}: ${smaller.cpuMicrosPerRecord} → ${larger.cpuMicrosPerRecord} CPU µs a record`);
      }
    }
  } finally {
    child.dispose();
  }
  log(
    table(
      ['shape', 'mode', 'stream records', 'passes', 'records/s', 'CPU µs/record', '× the smaller stream', 'ledger w/rec (mem)', 'peak heap MiB'],
      rows.map((r) => [r.shape, r.variant, r.streamRecords, r.passes, r.recordsPerSecond, r.cpuMicrosPerRecord, r.growth, r.ledgerWritesPerRecord, r.peakHeapMiB]),
    ),
  );
  const missed = rows.filter((r) => (r.growth ?? 0) > SCALE_GOAL).map((r) => `${r.shape} ${r.variant}`);
  log(`per-record CPU at ${SCALE_RECORDS.toLocaleString('en-US')} within ${SCALE_GOAL}× of ${small.toLocaleString('en-US')}: ${missed.length === 0 ? 'met' : `missed by ${missed.join(', ')}`}`);
  return {
    method:
      'In-memory ledger, no-op destination, batches of 100 generated on the fly (never the whole stream in memory); every account gets two rounds of history through the same engine first, untimed (a running pipeline), so both sizes carry the same mix of records; decode and engine timed, generation not. The two sizes of a row run in processes of their own (bundled as the functions are, a 512 MB function\'s young generation, a 4 GiB old one for the in-memory ledger) taking strict turns of a few batches, the smaller stream starting over (fresh engine and ledger, history given again) until the larger one has ended, so the machine\'s other load meets both alike. Peak heap includes the ledger and the generator, which hold per-account state.',
    goal: `CPU per record at the large run within ${SCALE_GOAL}× of the small run`,
    met: missed.length === 0,
    rows,
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
        ['contender', 'writes/rec', 'new accounts', 'reads/rec', 'requests/rec', 'WCU/rec', 'RCU/rec', 'requests by command'],
        Object.values(perContender).map((r) => [
          r.label,
          r.writeRequestsPerRecord,
          r.newAccounts.writeRequestsPerRecord,
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
    log(`writes/rec etc.: the ${workload.window} batches after each account's first ${workload.window} (established accounts); new accounts: writes/rec over those first ${workload.window}`);
    const section = ledgerJson(workload.name, perContender);
    const goal = section.goal;
    log(`worst default engine mode: ${section.engineWorstMode} ${section.engine} writes/rec (goal ≤ ${goal.maxWritesPerRecord}: ${goal.met ? 'met' : `missed by ${goal.missedBy.join(', ')}`}); powertools/engine writes: ${Object.entries(section.powertoolsOverEngine).map(([k, v]) => `${k} ${v}×`).join(', ')}`);
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

/** Where the results go: bench/results.json, or, when only some sections ran, BENCH_OUT or a temporary file. */
function resultsFile(only: string | undefined): string {
  if (process.env.BENCH_OUT) return process.env.BENCH_OUT;
  return only ? join(tmpdir(), `ordered-fanout-bench-${only}.json`) : new URL('./results.json', import.meta.url).pathname;
}

/**
 * Waits (at most `SETTLE_MAX_S`) for the 1-minute load average to fall to `SETTLE_LOAD`, so a section does not start
 * on a machine still busy with the one before (the emulators of (e), or another tenant). Both (e)'s tail and (a)'s
 * ratio moved with the load: (a) measured in-order 1.15× on a quiet machine and 1.22× right after (e).
 */
const SETTLE_LOAD = Number(process.env.BENCH_SETTLE_LOAD ?? 0.6);
const SETTLE_MAX_S = Number(process.env.BENCH_SETTLE_MAX_S ?? 180);
async function settle(before: string): Promise<void> {
  const started = Date.now();
  while ((loadavg()[0] ?? 0) > SETTLE_LOAD && Date.now() - started < SETTLE_MAX_S * 1000) await new Promise((resolve) => setTimeout(resolve, 5_000));
  const waited = Math.round((Date.now() - started) / 1000);
  const load = round(loadavg()[0] ?? 0, 2);
  log(`\nbefore ${before}: waited ${waited} s for the machine to settle; 1-minute load average ${load}${load > SETTLE_LOAD ? ` (still above ${SETTLE_LOAD})` : ''}`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const only = process.env.BENCH_ONLY || undefined;
  if (only !== undefined && only !== 'latency' && only !== 'engine' && only !== 'scale' && only !== 'ledger') {
    throw new Error(`BENCH_ONLY=${only}: only "latency", "engine", "ledger" or "scale" can run alone`);
  }
  const loadBefore = loadavg().map((n) => round(n, 2));
  log(`ordered-fanout bench — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadBefore.join(' ')}`);
  const environment = (loadAfterEngine?: number[]) => ({
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    platform: process.platform,
    source: sourceVersion(),
    loadAverageBefore: loadBefore,
    ...(loadAfterEngine ? { loadAverageAfterEngine: loadAfterEngine } : {}),
    note: 'load averages (1, 5, 15 min) show whether other work shared the machine during the throughput runs',
  });
  let results: Record<string, unknown>;
  if (only === 'latency') {
    log('BENCH_ONLY=latency: only section (e)');
    await settle('(e)');
    const latency = await latencySection(log);
    results = { generatedAt: new Date().toISOString(), environment: environment(), latency };
  } else if (only === 'scale') {
    log('BENCH_ONLY=scale: only section (d)');
    await settle('(d)');
    const scale = await scaleSection();
    results = { generatedAt: new Date().toISOString(), environment: environment(), scale };
  } else if (only === 'ledger') {
    log('BENCH_ONLY=ledger: only section (b)');
    const dynamodbStarting = startDynamoDBLocal();
    try {
      const ledger = await ledgerSection(dynamodbStarting);
      results = { generatedAt: new Date().toISOString(), environment: environment(), ledger };
    } finally {
      await dynamodbStarting.then((dynamodb) => dynamodb.stop(), () => undefined);
    }
  } else if (only === 'engine') {
    log('BENCH_ONLY=engine: only section (a)');
    await settle('(a)');
    const engine = await engineSection();
    results = { generatedAt: new Date().toISOString(), environment: environment(loadavg().map((n) => round(n, 2))), engine };
  } else {
    // (e) first, before the CPU-heavy sections: right after them the machine's load (1.7 → 2.9 in one recording) put
    // the emulators' tail, not the pipeline's, into the p99. It starts its own emulators per run and stops them.
    await settle('(e)');
    const latency = await latencySection(log);
    await settle('(a)');
    // DynamoDB Local (a JVM) starts while the workload is generated and the engine warms up; it idles during (a).
    const dynamodbStarting = startDynamoDBLocal();
    dynamodbStarting.catch(() => undefined);
    let engine: Awaited<ReturnType<typeof engineSection>>;
    let permanentGap: Awaited<ReturnType<typeof permanentGapSection>>;
    let ledger: Awaited<ReturnType<typeof ledgerSection>>;
    let scale: Awaited<ReturnType<typeof scaleSection>> | undefined;
    let loadAfterEngine: number[];
    try {
      engine = await engineSection();
      loadAfterEngine = loadavg().map((n) => round(n, 2));
      permanentGap = await permanentGapSection();
      ledger = await ledgerSection(dynamodbStarting);
      if (SCALE_RECORDS > 0) scale = await scaleSection();
    } finally {
      await dynamodbStarting.then((dynamodb) => dynamodb.stop(), () => undefined);
    }
    results = {
      generatedAt: new Date().toISOString(),
      environment: environment(loadAfterEngine),
      engine,
      permanentGap,
      ledger,
      ...(scale ? { scale } : {}),
      latency,
    };
  }
  const file = resultsFile(only);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  log(`\nwrote ${file} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
