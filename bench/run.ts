process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDynamoDBLocal } from '../local/emulators/dynamodb-local';
import { crashSection } from './crash-section';
import { engineSection } from './engine-section';
import { latencySection } from './latency-section';
import { ledgerSection } from './ledger-section';
import { permanentGapSection } from './permanent-gap-section';
import { withBenchTables } from './readme-tables';
import { SCALE_RECORDS, scaleSection } from './scale-section';
import { round } from './workloads';

/**
 * `npm run bench`: (a) engine throughput against decode-only pass-through, with an in-memory ledger; (b) ledger
 * requests per record on DynamoDB Local, against a naive conditional update and Powertools idempotency; (c) the cost
 * per batch behind a gap that never fills; (d) scale; (e) commit → delivery latency of short local pipeline runs, per
 * batching window; (f) what a crash lets an `in-order` destination see again, per commit granularity. (e) runs first, while the machine has not yet been loaded by the others, and (e) and (a) each start
 * once the load average has settled (`BENCH_SETTLE_LOAD`, default 0.6; at most `BENCH_SETTLE_MAX_S`, default 180 s).
 * Writes bench/results.json and the README's tables from it. BENCH_ROUNDS / BENCH_WARMUP change the number of measured / warm-up rounds of (a).
 * BENCH_LATENCY=0 skips (e), BENCH_LATENCY_CHANGES sets its operations per run. BENCH_ONLY=latency runs (e) alone and
 * BENCH_ONLY=engine runs (a) alone (a quick look at the engine's overhead, e.g. on a quiet machine), BENCH_ONLY=ledger
 * (b) alone, BENCH_ONLY=scale (d) alone, BENCH_ONLY=crash (f) alone; each writes its results to BENCH_OUT (default: a file in the temporary directory), never to
 * bench/results.json.
 *
 * This file orders the sections, lets the machine settle between them and writes the results; each section's printed
 * tables and its part of the JSON are in its own `*-section.ts`, beside the module that measures it.
 */
const log = (line: string) => console.log(line);

/** The commit measured, and whether the engine and ledger sources differed from it (read-only git calls). */
function sourceVersion(): { commit: string; uncommittedChangesIn: string[] } | undefined {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
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
  if (only !== undefined && only !== 'latency' && only !== 'engine' && only !== 'scale' && only !== 'ledger' && only !== 'crash') {
    throw new Error(`BENCH_ONLY=${only}: only "latency", "engine", "ledger", "scale" or "crash" can run alone`);
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
    const scale = await scaleSection(log);
    results = { generatedAt: new Date().toISOString(), environment: environment(), scale };
  } else if (only === 'ledger') {
    log('BENCH_ONLY=ledger: only section (b)');
    const dynamodbStarting = startDynamoDBLocal();
    try {
      const ledger = await ledgerSection(dynamodbStarting, log);
      results = { generatedAt: new Date().toISOString(), environment: environment(), ledger };
    } finally {
      await dynamodbStarting.then((dynamodb) => dynamodb.stop(), () => undefined);
    }
  } else if (only === 'crash') {
    log('BENCH_ONLY=crash: only section (f)');
    const crashExposure = await crashSection(log);
    results = { generatedAt: new Date().toISOString(), environment: environment(), crashExposure };
  } else if (only === 'engine') {
    log('BENCH_ONLY=engine: only section (a)');
    await settle('(a)');
    const engine = await engineSection(log);
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
    let crashExposure: Awaited<ReturnType<typeof crashSection>>;
    let scale: Awaited<ReturnType<typeof scaleSection>> | undefined;
    let loadAfterEngine: number[];
    try {
      engine = await engineSection(log);
      loadAfterEngine = loadavg().map((n) => round(n, 2));
      permanentGap = await permanentGapSection(log);
      ledger = await ledgerSection(dynamodbStarting, log);
      crashExposure = await crashSection(log);
      if (SCALE_RECORDS > 0) scale = await scaleSection(log);
    } finally {
      await dynamodbStarting.then((dynamodb) => dynamodb.stop(), () => undefined);
    }
    results = {
      generatedAt: new Date().toISOString(),
      environment: environment(loadAfterEngine),
      engine,
      permanentGap,
      ledger,
      crashExposure,
      ...(scale ? { scale } : {}),
      latency,
    };
  }
  const file = resultsFile(only);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  log(`\nwrote ${file} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  // The README's tables are the committed recording's: rewritten only with it (see readme-tables.ts).
  if (only === undefined && !process.env.BENCH_OUT) {
    const readme = new URL('../README.md', import.meta.url).pathname;
    writeFileSync(readme, withBenchTables(readFileSync(readme, 'utf8'), results));
    log(`rewrote the bench tables in ${readme}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
