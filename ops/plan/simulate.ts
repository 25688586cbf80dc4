import { makeEngine, noopDeadLetters, VARIANTS, type Variant } from '../../local/engine-variants';
import { prng } from '../../local/prng';
import type { AccountImage } from '../../shared/accounts/account';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { InMemoryLedger } from '../../shared/ledger/in-memory-ledger';
import { addCounts, zeroCounts } from '../../shared/ordering/outcome';
import { nextAccountImage } from '../../local/account-images';
import { LEDGER_FIGURES, ledgerWritesPerRecord, type LedgerVariant } from './ledger-figures';
import { versionsPerAccountPerBatch, type Plan } from './plan';

/** How far simulated writes per record may be from the planned figure (at the sample's accounts and batch). */
export const SIMULATION_TOLERANCE = { relative: 0.1, absolute: 0.02 } as const;

export interface SimulationOptions {
  /** @default 20,000 */
  readonly records?: number;
  /** @default min(plan accounts, records) */
  readonly accounts?: number;
  /** @default the first destination's batch size */
  readonly batchSize?: number;
  /** @default 1 */
  readonly seed?: number;
}

export interface SimulatedVariant {
  readonly variant: LedgerVariant;
  readonly label: string;
  /** The destinations of the plan that run this variant. */
  readonly destinations: string[];
  /** At the plan's scale (its accounts and effective batch), where a destination runs it; else null. */
  readonly plannedFullScale: number | null;
  /** At the sample's accounts and batch. */
  readonly plannedSample: number;
  readonly simulated: number;
  readonly withinTolerance: boolean;
  readonly delivered: number;
}

export interface Simulation {
  readonly records: number;
  readonly accounts: number;
  readonly batchSize: number;
  readonly batches: number;
  readonly versionsPerAccountPerBatch: number;
  /** First sightings per record in the sample. */
  readonly firstTouch: number;
  readonly seed: number;
  readonly tolerance: typeof SIMULATION_TOLERANCE;
  readonly variants: SimulatedVariant[];
}

const SHARD = 'shardId-000000000000';
/** bench's variant keys for the figures' names. */
const BENCH_KEY: Record<LedgerVariant, string> = {
  everyVersion: 'everyVersion',
  latestState: 'latestState',
  latestStateEnforced: 'latestStateEnforced',
  inOrderPerBatch: 'inOrderPerBatch',
  inOrderHomeLanes: 'inOrderHomeLanes',
  inOrderPerVersion: 'inOrder',
};

/** `records` changes over `accounts` accounts, each record's account drawn uniformly, versions in order per account. */
export function syntheticStream(records: number, accounts: number, seed: number): ChangeRecord[] {
  const random = prng(seed);
  const images = new Map<string, AccountImage>();
  const stream: ChangeRecord[] = [];
  const start = 1_795_392_000_000_000;
  for (let index = 0; index < records; index += 1) {
    const accountId = `acct-${Math.floor(random() * accounts).toString().padStart(6, '0')}`;
    const previous = images.get(accountId);
    const version = (previous?.version ?? 0) + 1;
    const createdAtMicros = start + index * 1_000;
    const image = nextAccountImage(accountId, version, previous, createdAtMicros);
    const base = { accountId, version, previousVersion: version - 1, createdAtMicros, eventId: `${accountId}-event-${version}`, sequenceNumber: `${index}`.padStart(21, '0'), shardId: SHARD };
    stream.push(previous === undefined ? { ...base, kind: 'INSERT', newImage: image } : { ...base, kind: 'MODIFY', oldImage: previous, newImage: image });
    images.set(accountId, image);
  }
  return stream;
}

async function run(variant: Variant, batches: readonly ChangeRecord[][]): Promise<{ writes: number; delivered: number }> {
  const ledger = new InMemoryLedger({ destination: 'plan', epoch: 'live' });
  const { engine } = makeEngine(variant, { ledger, deadLetters: noopDeadLetters }, 'plan');
  const counts = zeroCounts();
  for (const batch of batches) addCounts(counts, (await engine.process(batch, variant.homeLanes ? { lane: 'shard-0' } : {})).counts);
  return { writes: ledger.store.requests.writes, delivered: counts.delivered };
}

export const withinTolerance = (planned: number, simulated: number): boolean =>
  Math.abs(simulated - planned) <= Math.max(SIMULATION_TOLERANCE.absolute, SIMULATION_TOLERANCE.relative * planned);

/**
 * Runs the pure engine (in-memory ledger, no-op destination and dead-letter queue) over a scaled-down synthetic
 * stream for every measured variant, and compares its ledger writes per record with the plan's interpolation at the
 * sample's own accounts and batch size.
 */
export async function simulate(plan: Plan, options: SimulationOptions = {}): Promise<Simulation> {
  const records = options.records ?? 20_000;
  const accounts = Math.max(1, Math.min(options.accounts ?? plan.inputs.accounts, records));
  const batchSize = options.batchSize ?? plan.destinations[0]?.batchSize ?? 100;
  const seed = options.seed ?? 1;
  const stream = syntheticStream(records, accounts, seed);
  const batches: ChangeRecord[][] = [];
  for (let index = 0; index < stream.length; index += batchSize) batches.push(stream.slice(index, index + batchSize));
  const v = versionsPerAccountPerBatch(accounts, batchSize);
  // Each account's first two batches are claimed before its lane becomes its home (home lanes).
  const batchesSeen = new Map<string, number>();
  for (const batch of batches) for (const accountId of new Set(batch.map((record) => record.accountId))) batchesSeen.set(accountId, (batchesSeen.get(accountId) ?? 0) + 1);
  const firstTouch = [...batchesSeen.values()].reduce((sum, n) => sum + Math.min(2, n), 0) / records;
  const variants: SimulatedVariant[] = [];
  for (const [key, figure] of Object.entries(LEDGER_FIGURES) as [LedgerVariant, (typeof LEDGER_FIGURES)[LedgerVariant]][]) {
    const benchVariant = VARIANTS.find((candidate) => candidate.key === BENCH_KEY[key]);
    if (!benchVariant) throw new Error(`simulate: bench has no variant ${BENCH_KEY[key]}`);
    const { writes, delivered } = await run(benchVariant, batches);
    const running = plan.destinations.filter((d) => d.variant === key);
    const plannedSample = ledgerWritesPerRecord(figure, v, firstTouch);
    const simulated = writes / records;
    variants.push({
      variant: key,
      label: figure.label,
      destinations: running.map((d) => d.name),
      plannedFullScale: running[0]?.ledger.writesPerRecord ?? null,
      plannedSample,
      simulated,
      withinTolerance: withinTolerance(plannedSample, simulated),
      delivered,
    });
  }
  return { records, accounts, batchSize, batches: batches.length, versionsPerAccountPerBatch: v, firstTouch, seed, tolerance: SIMULATION_TOLERANCE, variants };
}
