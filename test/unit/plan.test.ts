import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../infra/config/load-config';
import { planCommand } from '../../ops/commands/plan';
import { recordingIO } from '../../ops/io';
import { formatPlan } from '../../ops/plan/format';
import { SECONDS_PER_MONTH, planStream } from '../../ops/plan/kinesis';
import { BENCH_FIRST_TOUCH, COLD_VERSIONS, HOT_VERSIONS, LEDGER_FIGURES, ledgerWritesPerRecord, type LedgerVariant } from '../../ops/plan/ledger-figures';
import { expectedDistinct, MAX_ACCOUNT_ITEM_BYTES, plan, versionsPerAccountPerBatch, type Plan } from '../../ops/plan/plan';
import { CHECKED, PRICES } from '../../ops/plan/prices';
import { SIMULATION_TOLERANCE, simulate } from '../../ops/plan/simulate';

const MONTH_RECORDS_AT_2000 = 2_000 * SECONDS_PER_MONTH; // 5.256 billion
const execute = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

describe('fanout plan: shards', () => {
  it('fills a shard to exactly 1 MiB/s and adds one past it', () => {
    // 2 × 874 + 300 = 2,048 bytes; 512 × 2,048 = 1,048,576.
    expect(planStream(512, 874, 3, 24)).toMatchObject({ recordBytes: 2_048, shards: 1, shardsLimitedBy: 'bytes' });
    expect(planStream(513, 874, 3, 24)).toMatchObject({ shards: 2, shardsForBytes: 2, shardsForRecords: 1 });
  });

  it('counts records: 1,000/s per shard for small items', () => {
    expect(planStream(1_000, 1, 3, 24)).toMatchObject({ recordBytes: 302, shards: 1 });
    expect(planStream(1_001, 1, 3, 24)).toMatchObject({ shards: 2, shardsForRecords: 2, shardsForBytes: 1, shardsLimitedBy: 'records' });
  });

  it('bills on-demand ingest per record rounded up to 1 KB, and charges no retention beyond 24 h when there is none', () => {
    const stream = planStream(1, 1_024, 1, 24);
    expect(stream.billedKbPerRecord).toBe(3);
    expect(stream.extendedGbMonths).toBe(0);
    expect(stream.longTermGbMonths).toBe(0);
    expect(stream.provisioned.lines.map((entry) => entry.price)).not.toContain('kdsExtendedRetentionShardHour');
  });
});

describe('fanout plan: ledger interpolation', () => {
  it.each(Object.keys(LEDGER_FIGURES) as LedgerVariant[])('%s: the hot and cold ends are the measured figures', (variant) => {
    const figure = LEDGER_FIGURES[variant];
    expect(ledgerWritesPerRecord(figure, HOT_VERSIONS, BENCH_FIRST_TOUCH.hot)).toBeCloseTo(figure.hot, 10);
    expect(ledgerWritesPerRecord(figure, COLD_VERSIONS, BENCH_FIRST_TOUCH.cold)).toBeCloseTo(figure.cold, 10);
  });

  it('is 1/v for one write per account per batch, 2/v for claim + commit, 1 + 1/v per version, and never below 1 version', () => {
    for (const v of [1, 2, 4, 10]) {
      expect(ledgerWritesPerRecord(LEDGER_FIGURES.everyVersion, v, 0)).toBeCloseTo(1 / v, 10);
      expect(ledgerWritesPerRecord(LEDGER_FIGURES.inOrderPerBatch, v, 0)).toBeCloseTo(2 / v, 10);
      expect(ledgerWritesPerRecord(LEDGER_FIGURES.inOrderHomeLanes, v, 0)).toBeCloseTo(1 / v, 10);
      expect(ledgerWritesPerRecord(LEDGER_FIGURES.inOrderPerVersion, v, 0)).toBeCloseTo(1 + 1 / v, 10);
    }
    expect(ledgerWritesPerRecord(LEDGER_FIGURES.inOrderPerBatch, 0.5, 0)).toBe(2);
    expect(ledgerWritesPerRecord(LEDGER_FIGURES.latestStateEnforced, 3, 1)).toBe(0);
  });

  it('estimates versions per account per batch from the accounts a batch draws', () => {
    expect(expectedDistinct(1, 100)).toBe(1);
    expect(versionsPerAccountPerBatch(1, 100)).toBe(100);
    expect(versionsPerAccountPerBatch(10, 100)).toBeCloseTo(100 / (10 * (1 - 0.9 ** 100)), 10);
    expect(versionsPerAccountPerBatch(5_000_000, 100)).toBeCloseTo(1, 4);
  });
});

describe('fanout plan: worked example, 2,000 writes/s over 5,000,000 accounts, 1 KB items', () => {
  let result: Plan;
  beforeAll(async () => {
    result = await plan({ writesPerSecond: 2_000, accounts: 5_000_000, itemBytes: 1_024 });
  });

  it('deploys 5 shards (2 × 1,024 + 300 = 2,348 B × 2,000/s = 4.48 MiB/s) and 5 concurrent batches per destination', () => {
    expect(result.stream).toMatchObject({ recordBytes: 2_348, shards: 5, shardsLimitedBy: 'bytes', efoConsumers: 3, retentionHours: 8_760 });
    expect(result.destinations.map((d) => [d.name, d.mode, d.concurrency])).toEqual([
      ['audit', 'every-version', 5],
      ['search', 'latest-state', 5],
      ['fraud', 'in-order', 5],
    ]);
    // 400 records/s per lane × 0.2 s per batch = 80 records per batch, each from another account.
    for (const d of result.destinations) {
      expect(d.effectiveBatch).toBeCloseTo(80, 10);
      expect(d.versionsPerAccountPerBatch).toBeCloseTo(1, 4);
      expect(d.lambda.invocationsPerMonth).toBeCloseTo(MONTH_RECORDS_AT_2000 / 80, 0);
    }
  });

  it('prices the hand-checked lines', () => {
    const byName = Object.fromEntries(result.destinations.map((d) => [d.name, d]));
    // in-order with home lanes: one commit per account per batch, plus a claim in each account's first two batches
    // (5,000,000 accounts × 2 ÷ 5.256 B records).
    expect(byName.fraud?.ledger.writesPerRecord).toBeCloseTo(1 + 10_000_000 / MONTH_RECORDS_AT_2000, 4);
    expect(byName.audit?.ledger.writesPerRecord).toBeCloseTo(1, 3);
    const usdOf = (lines: readonly { item: string; usd: number }[], item: string) => lines.find((entry) => entry.item === item)?.usd;
    // 5.256 B PUTs × $0.005 / 1,000
    expect(usdOf(byName.audit?.requests.lines ?? [], 'audit: S3 PUTs')).toBeCloseTo(26_280, 0);
    // 5.256 B events × $1 / million
    expect(usdOf(byName.fraud?.requests.lines ?? [], 'fraud: EventBridge custom events')).toBeCloseTo(5_256, 0);
    // 5.266 B WRU × $0.625 / million
    expect(usdOf(byName.fraud?.ledger.lines ?? [], 'fraud: ledger writes (WRU)')).toBeCloseTo(3_291, -1);
    // 5 shards × 730 h × $0.015
    expect(usdOf(result.stream.provisioned.lines, 'shard-hours (5 shards)')).toBeCloseTo(54.75, 6);
    // 1 CDC unit per 1 KB write
    expect(result.cdc.lines[0]?.quantity).toBe(MONTH_RECORDS_AT_2000);
    const parts = result.monthly.kinesis + result.monthly.cdc + Object.values(result.monthly.destinations).reduce((a, b) => a + b, 0);
    expect(result.monthly.total).toBeCloseTo(parts, 6);
    expect(result.monthly.kinesis).toBe(result.stream.onDemand.total);
  });

  it('names shard write throughput as the bottleneck and EventBridge PutEvents as the first ceiling beyond shards', () => {
    expect(result.bottleneck.name).toMatch(/shard writes, bytes/);
    expect(result.bottleneck.utilization).toBeCloseTo(4_696_000 / 5_242_880, 6);
    expect(result.bottleneck.writesPerSecondAtLimit).toBeCloseTo(2_232.6, 0);
    expect(result.ceilings[0]?.name).toMatch(/PutEvents/);
    expect(result.notModelled.join(' ')).toMatch(/OpenSearch indexing rate .* not modelled/);
  });

  it('prints the price date and the ledger formula', () => {
    const text = formatPlan(result).join('\n');
    expect(text).toContain(`checked ${CHECKED}`);
    expect(text).toContain('writes/record = h + (c − h)');
    expect(text).toContain('bench (b), bench/results.json, 2026-12-03');
  });
});

describe('fanout plan: a plug-in that ships with the package (ledger-queue)', () => {
  it('plans it by the mode of its runtime half, with its own service requests, price and quota', async () => {
    const result = await plan({ writesPerSecond: 2_000, accounts: 5_000_000, itemBytes: 1_024, destinations: ['fraud', 'ledger-queue'] });
    const [fraud, queue] = result.destinations;
    expect(result.stream.efoConsumers).toBe(2);
    expect(queue).toMatchObject({ name: 'ledger-queue', mode: 'in-order', variant: 'inOrderHomeLanes', concurrency: 5, batchSize: 100 });
    // Same mode, same ledger writes: in-order on its home lane.
    expect(queue?.ledger.writesPerRecord).toBeCloseTo(fraud?.ledger.writesPerRecord as number, 10);
    // 80 accounts per batch and 1,324 B messages: 10 per SendMessageBatch call (13 KB, one 64 KB chunk), 200 calls/s.
    expect(queue?.requests.perSecond).toBeCloseTo(200, 6);
    expect(queue?.requests.lines).toHaveLength(1);
    expect(queue?.requests.lines[0]).toMatchObject({ item: 'ledger-queue: SQS FIFO requests', price: 'sqsFifoRequestMillion' });
    // 200 × 2,628,000 s = 525.6 M requests × $0.50 / million
    expect(queue?.requests.lines[0]?.usd).toBeCloseTo(262.8, 6);
    expect(result.monthly.destinations['ledger-queue']).toBeCloseTo(queue?.total as number, 10);
    // Its quota is SQS's, and fraud keeps EventBridge's: requests follow the service, not the mode.
    const quotas = result.limits.filter((entry) => !entry.scalesWithShards).map((entry) => entry.name);
    expect(quotas).toEqual(expect.arrayContaining([expect.stringMatching(/^ledger-queue: SQS FIFO SendMessageBatch/), expect.stringMatching(/^fraud: EventBridge PutEvents/)]));
    expect(result.ceilings.map((ceiling) => ceiling.name)).toContainEqual(expect.stringMatching(/^ledger-queue: SQS FIFO/));
    expect(fraud?.requests.lines[0]?.price).toBe('eventBridgeCustomEventMillion');
    expect(formatPlan(result).join('\n')).toContain('ledger-queue (in-order): concurrency 5');
  });

  it('puts fewer messages in a call when they are big (1 MiB a call) and bills each 64 KB of a call', async () => {
    // 100 KB items take 20 shards at 100 writes/s: 5 records/s per lane, 25 per 5 s batch.
    const result = await plan({ writesPerSecond: 100, accounts: 1_000_000, itemBytes: 100_000, destinations: ['ledger-queue'], batchSeconds: 5 });
    const [queue] = result.destinations;
    expect(queue?.effectiveBatch).toBeCloseTo(25, 6);
    // 100,300 B messages: ten per call (1,003,000 B), sixteen 64 KB chunks each.
    expect(queue?.requests.perSecond).toBeCloseTo(10, 6);
    expect(queue?.requests.lines[0]?.quantity).toBeCloseTo(10 * SECONDS_PER_MONTH * 16, 0);
    // 300,300 B messages: three per call (900,900 B), fourteen chunks each.
    const bigger = await plan({ writesPerSecond: 30, accounts: 1_000_000, itemBytes: 300_000, destinations: ['ledger-queue'], batchSeconds: 5 });
    expect(bigger.destinations[0]?.requests.perSecond).toBeCloseTo(10, 6);
    expect(bigger.destinations[0]?.requests.lines[0]?.quantity).toBeCloseTo(10 * SECONDS_PER_MONTH * 14, 0);
  });

  it('uses the plug-in\'s settings from the configuration, and plans the configuration\'s destinations by default', async () => {
    const config = parsePipelineConfig({ plugins: { 'ledger-queue': { settings: { parallelizationFactor: 3 } } } }, 'test');
    const result = await plan({ writesPerSecond: 2_000, accounts: 5_000_000, itemBytes: 1_024, destinations: ['ledger-queue'], config });
    expect(result.destinations[0]).toMatchObject({ parallelizationFactor: 3, concurrency: 15 });
    // Without --destinations, what the configuration deploys: the built-ins and its plug-ins.
    const deployed = await plan({ writesPerSecond: 2_000, accounts: 5_000_000, itemBytes: 1_024, config });
    expect(deployed.destinations.map((d) => d.name)).toEqual(['audit', 'search', 'fraud', 'ledger-queue']);
  });

  it('refuses a destination that does not ship with the package, naming those that do', async () => {
    await expect(plan({ writesPerSecond: 1, accounts: 1, itemBytes: 1, destinations: ['webhook'] })).rejects.toThrow(
      'no destination "webhook" ships with fanout: it knows audit, search, fraud, ledger-queue',
    );
  });
});

describe('fanout plan: simulation', () => {
  it.each([50, 2_000])('agrees with the planned writes per record within the stated tolerance (%i accounts, 2,000 records)', async (accounts) => {
    const result = await plan({ writesPerSecond: 2_000, accounts, itemBytes: 1_024 });
    const simulation = await simulate(result, { records: 2_000 });
    expect(simulation.variants).toHaveLength(Object.keys(LEDGER_FIGURES).length);
    for (const entry of simulation.variants) {
      const allowed = Math.max(SIMULATION_TOLERANCE.absolute, SIMULATION_TOLERANCE.relative * entry.plannedSample);
      expect(Math.abs(entry.simulated - entry.plannedSample), entry.label).toBeLessThanOrEqual(allowed);
      expect(entry.withinTolerance).toBe(true);
    }
  });
});

describe('fanout plan: command', () => {
  it('prints the price date in text and JSON, and exits 0', async () => {
    const text = recordingIO();
    expect(await planCommand({ writesPerSecond: 100, accounts: 1_000, itemBytes: 500 }, text)).toBe(0);
    expect(text.lines.join('\n')).toContain(`prices: us-east-1, checked ${CHECKED}`);
    const json = recordingIO(true);
    expect(await planCommand({ writesPerSecond: 100, accounts: 1_000, itemBytes: 500, destinations: ['fraud'], replayDays: 10 }, json)).toBe(0);
    const parsed = JSON.parse(json.lines.join('\n')) as { plan: { prices: { checked: string }; destinations: unknown[]; replay: { days: number } } };
    expect(parsed.plan.prices.checked).toBe(CHECKED);
    expect(parsed.plan.destinations).toHaveLength(1);
    expect(parsed.plan.replay.days).toBe(10);
  });

  it('takes any destination that ships with the package on the command line, and refuses others naming them', async () => {
    const run = (destinations: string) =>
      execute(join(ROOT, 'node_modules/.bin/tsx'), ['ops/main.ts', 'plan', '--writes-per-second', '100', '--accounts', '1000', '--item-bytes', '500', '--destinations', destinations, '--json'], { cwd: ROOT });
    const { stdout } = await run('ledger-queue,audit');
    const parsed = JSON.parse(stdout) as { plan: { destinations: { name: string; mode: string }[] } };
    expect(parsed.plan.destinations.map(({ name, mode }) => [name, mode])).toEqual([['ledger-queue', 'in-order'], ['audit', 'every-version']]);
    await expect(run('ledger-queue,webhook')).rejects.toMatchObject({ stderr: expect.stringContaining('no destination "webhook" ships with fanout: one of audit, search, fraud, ledger-queue, or pass its runtime half with --runtime <module>') });
  }, 60_000);

  it("plans a plug-in of your own app by the mode of its runtime half's module (--runtime), its service's requests not priced", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-runtime-'));
    try {
      const module = join(dir, 'webhook-runtime.mjs');
      writeFileSync(module, "export default { name: 'webhook', mode: 'latest-state', readSettings: () => ({}), createDestination: () => { throw new Error('not here'); } };");
      const { stdout } = await execute(
        join(ROOT, 'node_modules/.bin/tsx'),
        ['ops/main.ts', 'plan', '--writes-per-second', '100', '--accounts', '1000', '--item-bytes', '500', '--destinations', 'webhook,fraud', '--runtime', module, '--json'],
        { cwd: ROOT },
      );
      const parsed = JSON.parse(stdout) as { plan: { destinations: { name: string; mode: string; variant: string; requests: { note: string } }[] } };
      expect(parsed.plan.destinations.map(({ name, mode, variant }) => [name, mode, variant])).toEqual([['webhook', 'latest-state', 'latestState'], ['fraud', 'in-order', 'inOrderHomeLanes']]);
      expect(parsed.plan.destinations[0]?.requests.note).toContain('no model for webhook');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('keeps a source and a status on every price line', () => {
    for (const entry of Object.values(PRICES)) {
      expect(entry.source).toMatch(/^https:\/\//);
      expect(['verified', 'secondary', 'unverified']).toContain(entry.status);
    }
  });
});

describe('plan refuses a load DynamoDB cannot hold', () => {
  it('an account item over 400 KB', async () => {
    await expect(plan({ writesPerSecond: 10, accounts: 10, itemBytes: MAX_ACCOUNT_ITEM_BYTES + 1 })).rejects.toThrow(/at most 409600 \(400 KB\)/);
    await expect(plan({ writesPerSecond: 10, accounts: 10, itemBytes: MAX_ACCOUNT_ITEM_BYTES })).resolves.toBeDefined();
  });
});
