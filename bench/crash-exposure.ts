import type { ChangeRecord } from '../shared/change-record/change-record';
import { InMemoryLedger, InMemoryLedgerStore } from '../shared/ledger/in-memory-ledger';
import { OrderingEngine } from '../shared/ordering/engine';
import type { Delivery, DeliveryResult, Destination } from '../shared/ordering/ports';
import { Crash, guarded } from '../local/guarded-ledger';
import { noopDeadLetters, type Variant } from '../local/engine-variants';
import { prng } from '../local/prng';
import type { LedgerWorkload } from './workloads';

/*
 * What an `in-order` commit granularity lets a destination see again after a crash: the engine is killed right after
 * a destination call was applied and before anything else runs (no commit, no clean-up), and the batch is retried on a
 * fresh engine over the same ledger, as Lambda retries it in a new execution environment. Counted: the versions the
 * destination received more than once, per crash and per account, and whether every version still arrived, first
 * copies in order. In process, with the in-memory ledger: this counts deliveries, it times nothing.
 */

const CLAIM_TTL_MS = 60_000;

export interface CrashExposure {
  readonly crashes: number;
  readonly deliveries: number;
  /** Deliveries of a version the destination already held. */
  readonly repeats: number;
  readonly repeatsPerCrash: number;
  /** The most versions of one account delivered again after one crash. */
  readonly maxRepeatsOfAnAccountPerCrash: number;
  /** Every version arrived, and each account's first copies came in version order. */
  readonly complete: boolean;
}

/** Runs `workload` through `variant` on one shard, crashing after a destination call with probability `crashRate`. */
export async function measureCrashExposure(workload: LedgerWorkload, variant: Variant, crashRate: number, seed: number): Promise<CrashExposure> {
  const random = prng(seed);
  const store = new InMemoryLedgerStore();
  let now = 1_000_000;
  const held = new Set<string>();
  const firstCopies = new Map<string, number[]>();
  let crashes = 0;
  let deliveries = 0;
  let repeats = 0;
  let maxRepeatsOfAnAccount = 0;

  /** One attempt at `records` in a fresh execution environment: its failed records, or undefined if it died. */
  const attempt = async (records: readonly ChangeRecord[]): Promise<{ failed: ReadonlySet<string> } | undefined> => {
    const dead = { value: false };
    const repeatedHere = new Map<string, number>();
    const deliver = async (calls: readonly Delivery[]): Promise<readonly DeliveryResult[]> => {
      if (dead.value) throw new Crash();
      for (const { record } of calls) {
        const key = `${record.accountId}#${record.version}`;
        deliveries += 1;
        if (held.has(key)) {
          repeats += 1;
          repeatedHere.set(record.accountId, (repeatedHere.get(record.accountId) ?? 0) + 1);
          continue;
        }
        held.add(key);
        const versions = firstCopies.get(record.accountId) ?? [];
        versions.push(record.version);
        firstCopies.set(record.accountId, versions);
      }
      if (random() < crashRate) {
        dead.value = true;
        throw new Crash();
      }
      return calls.map(() => ({ status: 'delivered' as const }));
    };
    const destination: Destination = { name: 'crash-bench', mode: 'in-order', deliver };
    const ledger = new InMemoryLedger({ destination: 'crash-bench', epoch: 'live', store });
    const engine = new OrderingEngine({
      destination,
      // Once dead, nothing the engine had in flight reaches the ledger: no commit, no release.
      ledger: guarded(ledger, async () => {
        if (dead.value) throw new Crash();
      }),
      deadLetters: noopDeadLetters,
      clock: () => now,
      owner: `environment-${crashes}-${deliveries}`,
      claimTtlMs: CLAIM_TTL_MS,
      maxGapAgeMs: Number.MAX_SAFE_INTEGER,
      ...(variant.inOrderCommit ? { inOrderCommit: variant.inOrderCommit } : {}),
    });
    try {
      const outcome = await engine.process(records, variant.homeLanes ? { lane: records[0]?.shardId } : {});
      return { failed: new Set(outcome.failed.map((position) => position.sequenceNumber)) };
    } catch (error) {
      if (!(error instanceof Crash)) throw error;
      crashes += 1;
      return undefined;
    } finally {
      // The repeats an environment made are what the crash before it left uncommitted.
      for (const n of repeatedHere.values()) maxRepeatsOfAnAccount = Math.max(maxRepeatsOfAnAccount, n);
    }
  };

  for (const batch of workload.batches) {
    let pending: readonly ChangeRecord[] = batch;
    for (let tries = 0; pending.length > 0; tries += 1) {
      if (tries > 50) throw new Error('a batch never got through');
      const result = await attempt(pending);
      if (result !== undefined) pending = pending.filter((record) => result.failed.has(record.sequenceNumber));
      // A retry comes after the dead environment's claims ran out (a claimed account waits for them, parked, meanwhile).
      now += CLAIM_TTL_MS + 1;
    }
  }
  return {
    crashes,
    deliveries,
    repeats,
    repeatsPerCrash: crashes === 0 ? 0 : Math.round((repeats / crashes) * 10) / 10,
    maxRepeatsOfAnAccountPerCrash: maxRepeatsOfAnAccount,
    complete: isComplete(workload, firstCopies),
  };
}

function isComplete(workload: LedgerWorkload, firstCopies: ReadonlyMap<string, number[]>): boolean {
  const expected = new Map<string, number>();
  for (const batch of workload.batches) for (const record of batch) expected.set(record.accountId, (expected.get(record.accountId) ?? 0) + 1);
  for (const [accountId, count] of expected) {
    const versions = firstCopies.get(accountId) ?? [];
    if (versions.length !== count) return false;
    for (let index = 1; index < versions.length; index += 1) if ((versions[index] as number) !== (versions[index - 1] as number) + 1) return false;
  }
  return true;
}
