import { InMemoryLedger, InMemoryLedgerStore } from '../../shared/ledger/in-memory-ledger';
import { OrderingEngine } from '../../shared/ordering/engine';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import type { DeliverOptions, Delivery, DeliveryResult, Destination, Ledger } from '../../shared/ordering/ports';
import type { InOrderCommit } from '../../shared/ordering/delivery-mode';
import { laneOptions } from '../../shared/consumer/lanes';
import { accountHistory, duplicateOf } from '../support/histories';
import { ManualClock } from '../support/engine-harness';
import { RecordingDeadLetterQueue } from '../../local/recording-destination';
import { prng } from '../../local/prng';
import { guarded, sweepUntilSettled } from './drive';

/*
 * An adversarial model of Lambda with a parallelizationFactor above 1 that keeps ONLY what Lambda promises
 * (no two batches holding the same partition key in flight at once, each key's records in order), with arbitrary
 * batch composition, retries from the first failed record, concurrent sweeps and lane-less side paths, and a clock
 * that moves while calls are in flight (home bounds, quiet homes, fences). Checks: no two engines' calls for one
 * account live at once, first deliveries in version order, every version delivered, nothing left parked.
 */

const SHARD = 'shardId-000000000000';
const CLAIM_TTL = 10_000;
const HOME_BOUND = 4_000;

interface Item {
  readonly pos: number;
  readonly record: ChangeRecord;
  readonly key: string | undefined;
}

function yields(random: () => number): () => Promise<void> {
  return async () => {
    const roll = random();
    if (roll < 0.15) return new Promise<void>((resolve) => setImmediate(resolve));
    for (let turns = Math.floor(roll * 5); turns > 0; turns -= 1) await Promise.resolve();
  };
}

/** One run of the model; the problems it found (none is the property). `lanes` as the consumer's `IN_ORDER_HOME_LANES`. */
export async function runPerKeyScheduler(seed: number, inOrderCommit: InOrderCommit, lanes: 'partition-key' | 'none' | 'shard' = 'partition-key'): Promise<string[]> {
  const random = prng(seed);
  const clock = new ManualClock();
  const store = new InMemoryLedgerStore();
  const deadLetters = new RecordingDeadLetterQueue();
  const problems: string[] = [];
  const received = new Map<string, number[]>();
  const live = new Map<string, { owner: string; deadline: number; id: number }[]>();
  let callIds = 0;
  const turn = yields(random);

  const destinationFor = (owner: string): Destination => ({
    name: 'dest',
    mode: 'in-order',
    deliver: async (deliveries: readonly Delivery[], options?: DeliverOptions): Promise<readonly DeliveryResult[]> => {
      const deadline = options?.deadline ?? Number.POSITIVE_INFINITY;
      const id = (callIds += 1);
      await turn();
      // The call takes a while (the shared clock moves), but never past its deadline: the adapter aborts there.
      const room = Math.max(0, Math.min(deadline, clock.now() + 5_000) - clock.now() - 1);
      clock.advance(Math.floor(random() * room * 0.7));
      if (clock.now() >= deadline) return deliveries.map(() => ({ status: 'failed', reason: 'DELIVERY_FAILED', detail: 'late', attempts: 0 }) as DeliveryResult);
      const accounts = new Set(deliveries.map((d) => d.record.accountId));
      for (const accountId of accounts) {
        const others = (live.get(accountId) ?? []).filter((c) => c.owner !== owner && c.deadline > clock.now());
        if (others.length > 0) problems.push(`concurrent: ${owner} delivers ${accountId} at ${clock.now()} while ${others.map((o) => `${o.owner} (until ${o.deadline})`).join(', ')} is live`);
        live.set(accountId, [...(live.get(accountId) ?? []), { owner, deadline, id }]);
      }
      for (const d of deliveries) {
        const { accountId, version } = d.record;
        const got = received.get(accountId) ?? [];
        const max = got.length === 0 ? 0 : Math.max(...got);
        if (version > max + 1) problems.push(`order: ${accountId} v${version} after max v${max} (${owner})`);
        got.push(version);
        received.set(accountId, got);
      }
      await turn();
      await turn();
      for (const accountId of accounts) live.set(accountId, (live.get(accountId) ?? []).filter((c) => c.id !== id));
      return deliveries.map(() => ({ status: 'delivered' }) as DeliveryResult);
    },
  });

  // Each ledger call takes a turn or a few, and now and then the shared clock moves meanwhile.
  const ledgerFor = (): Ledger =>
    guarded(new InMemoryLedger({ destination: 'dest', epoch: 'live', store }), async () => {
      await turn();
      if (random() < 0.2) clock.advance(Math.floor(random() * 600));
    });
  let engines = 0;
  let batches = 0;
  const stats: Record<string, number> = {};
  const engine = (): OrderingEngine => {
    const owner = `engine-${(engines += 1)}`;
    return new OrderingEngine({
      destination: destinationFor(owner),
      ledger: ledgerFor(),
      deadLetters,
      clock: clock.now,
      owner,
      claimTtlMs: CLAIM_TTL,
      homeBoundMs: HOME_BOUND,
      maxGapAgeMs: Number.MAX_SAFE_INTEGER,
      inOrderCommit,
    });
  };

  // The stream: accounts' versions interleaved, each account's in order; keys mostly the account's own, sometimes
  // another (also another account's), sometimes none; a few duplicates later in the stream.
  const accounts = ['A', 'B', 'C', 'D'];
  const histories = accounts.map((a) => accountHistory(a, 25, { shardId: SHARD }));
  const cursors = histories.map(() => 0);
  const stream: { record: ChangeRecord; key: string | undefined }[] = [];
  const keyPool = ['k-A', 'k-B', 'k-C', 'k-D', 'k-X', 'k-Y'];
  while (cursors.some((c, i) => c < (histories[i] as ChangeRecord[]).length)) {
    const i = Math.floor(random() * accounts.length);
    const h = histories[i] as ChangeRecord[];
    if ((cursors[i] as number) >= h.length) continue;
    const record = h[cursors[i] as number] as ChangeRecord;
    cursors[i] = (cursors[i] as number) + 1;
    const roll = random();
    const key = roll < 0.7 ? `k-${record.accountId}` : roll < 0.97 ? keyPool[Math.floor(random() * keyPool.length)] : undefined;
    stream.push({ record, key });
    if (random() < 0.05) stream.push({ record: duplicateOf(record), key: keyPool[Math.floor(random() * keyPool.length)] });
  }
  let pending: Item[] = stream.map((s, pos) => ({ pos, ...s }));
  const inFlightKeys = new Set<string | undefined>();
  let inFlight = 0;

  // Lambda, keeping only its promise: a batch takes records in stream order, skipping (and from then on blocking) any
  // key in flight; a key's records are never taken out of order.
  const takeBatch = (): Item[] => {
    const blocked = new Set(inFlightKeys);
    const size = 1 + Math.floor(random() * 8);
    const batch: Item[] = [];
    for (const item of pending) {
      if (batch.length >= size) break;
      if (blocked.has(item.key) || random() < 0.15) {
        blocked.add(item.key);
        continue;
      }
      batch.push(item);
    }
    const taken = new Set(batch);
    pending = pending.filter((item) => !taken.has(item));
    for (const item of batch) inFlightKeys.add(item.key);
    return batch;
  };

  const worker = async (): Promise<void> => {
    for (let idle = 0; idle < 10_000; ) {
      if (pending.length === 0 && inFlight === 0) return;
      const batch = takeBatch();
      if (batch.length === 0) {
        idle += 1;
        await new Promise<void>((resolve) => setImmediate(resolve));
        continue;
      }
      inFlight += 1;
      const inputs: KinesisRecordInput[] = batch.map((item) => ({ data: '', sequenceNumber: item.record.sequenceNumber, shardId: SHARD, ...(item.key === undefined ? {} : { partitionKey: item.key }) }));
      const decoded = batch.map((item, i) => ({ input: inputs[i] as KinesisRecordInput, record: item.record }));
      const deadline = clock.now() + (random() < 0.2 ? 3_000 : 60_000);
      batches += 1;
      const outcome = await engine().process(batch.map((i) => i.record), { deadline, ...laneOptions(lanes, inputs, decoded) });
      for (const [k, v] of Object.entries(outcome.counts)) if (typeof v === 'number') stats[k] = (stats[k] ?? 0) + v;
      const failed = new Set(outcome.failed.map((p) => p.sequenceNumber));
      const firstFailed = batch.findIndex((item) => failed.has(item.record.sequenceNumber));
      // Lambda retries from the first failed record: it and every record after it in the batch come again.
      if (firstFailed >= 0) pending = [...pending, ...batch.slice(firstFailed)].sort((a, b) => a.pos - b.pos);
      for (const item of batch) inFlightKeys.delete(item.key);
      inFlight -= 1;
    }
    problems.push('a worker gave up');
  };

  // Side paths meanwhile: the sweeper, and a redrive of copies of records already seen (no lane).
  let done = false;
  const sidePaths = async (): Promise<void> => {
    while (!done) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const roll = random();
      if (roll < 0.1) {
        clock.advance(Math.floor(random() * 6_000));
        await engine().sweep();
      } else if (roll < 0.13) {
        const seen = stream.slice(0, Math.max(1, Math.floor(random() * stream.length)));
        const picked = seen[Math.floor(random() * seen.length)] as { record: ChangeRecord };
        await engine().process([duplicateOf(picked.record)], { deadline: clock.now() + 60_000 });
      }
    }
  };

  const side = sidePaths();
  await Promise.all([worker(), worker(), worker(), worker()]);
  done = true;
  await side;

  const inspector = new InMemoryLedger({ destination: 'dest', epoch: 'live', store });
  const left = await sweepUntilSettled(inspector, () => engine().sweep(), () => clock.advance(CLAIM_TTL + 1), 30);
  if (left !== undefined) problems.push(left);
  for (const h of histories) {
    const accountId = (h[0] as ChangeRecord).accountId;
    const got = new Set(received.get(accountId) ?? []);
    const missing = h.map((r) => r.version).filter((v) => !got.has(v));
    if (missing.length > 0) problems.push(`missing: ${accountId} ${missing.join(',')}`);
  }
  const parked = inspector.allParked();
  if (parked.length > 0) problems.push(`parked left: ${parked.map((r) => `${r.accountId}@${r.version}`).join(',')}`);
  if (deadLetters.letters.length > 0) problems.push(`dead letters: ${deadLetters.letters.length}`);
  return problems;
}

