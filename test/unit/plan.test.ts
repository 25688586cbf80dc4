import { describe, expect, it } from 'vitest';
import { planCommand } from '../../ops/commands/plan';
import { recordingIO } from '../../ops/io';
import { formatPlan } from '../../ops/plan/format';
import { SECONDS_PER_MONTH, planStream } from '../../ops/plan/kinesis';
import { BENCH_FIRST_TOUCH, COLD_VERSIONS, HOT_VERSIONS, LEDGER_FIGURES, ledgerWritesPerRecord, type LedgerVariant } from '../../ops/plan/ledger-figures';
import { expectedDistinct, plan, versionsPerAccountPerBatch } from '../../ops/plan/plan';
import { CHECKED, PRICES } from '../../ops/plan/prices';
import { SIMULATION_TOLERANCE, simulate } from '../../ops/plan/simulate';

const MONTH_RECORDS_AT_2000 = 2_000 * SECONDS_PER_MONTH; // 5.256 billion

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
  const result = plan({ writesPerSecond: 2_000, accounts: 5_000_000, itemBytes: 1_024 });

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

describe('fanout plan: simulation', () => {
  it.each([50, 2_000])('agrees with the planned writes per record within the stated tolerance (%i accounts, 2,000 records)', async (accounts) => {
    const result = plan({ writesPerSecond: 2_000, accounts, itemBytes: 1_024 });
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

  it('keeps a source and a status on every price line', () => {
    for (const entry of Object.values(PRICES)) {
      expect(entry.source).toMatch(/^https:\/\//);
      expect(['verified', 'secondary', 'unverified']).toContain(entry.status);
    }
  });
});
