import { VARIANTS } from '../local/engine-variants';
import { measureCrashExposure, type CrashExposure } from './crash-exposure';
import { table } from './format';
import { ledgerWorkload } from './workloads';

/*
 * Bench (f): what each `in-order` commit granularity lets a destination see again after a crash, the other half of
 * choosing the default (writes per record are (b)'s half), as `npm run bench` prints it and as `results.json` keeps it.
 * The runs are `crash-exposure.ts`.
 */

const CRASH_RATE = 0.1;
const SEED = 20240607;

export async function crashSection(log: (line: string) => void) {
  log(`\n(f) Crash exposure of in-order: a crash right after a destination call was applied (chance ${CRASH_RATE} a call), the batch retried in a fresh environment over the same ledger; 200 batches of 100 records`);
  const rows: (CrashExposure & { readonly workload: string; readonly setting: string; readonly key: string; readonly isDefault: boolean })[] = [];
  for (const [name, accounts] of [['hot', 10], ['cold', 100]] as const) {
    const workload = ledgerWorkload(name, { accounts, batches: 100, batchSize: 100, seed: SEED });
    for (const variant of VARIANTS.filter((candidate) => candidate.mode === 'in-order')) {
      const exposure = await measureCrashExposure(workload, variant, CRASH_RATE, SEED);
      if (!exposure.complete) throw new Error(`${variant.label} ${name}: a version was lost or its first copy came out of order after a crash`);
      rows.push({ workload: name, setting: variant.label, key: variant.key, isDefault: variant.isDefault, ...exposure });
    }
  }
  log(
    table(
      ['workload', 'setting', 'crashes', 'deliveries', 'delivered again', 'again per crash', 'most of one account per crash', 'all delivered, in order'],
      rows.map((r) => [r.workload, `${r.setting}${r.isDefault ? '' : ' [opt-in]'}`, r.crashes, r.deliveries, r.repeats, r.repeatsPerCrash, r.maxRepeatsOfAnAccountPerCrash, r.complete ? 'yes' : 'NO']),
    ),
  );
  return {
    method: `In process, in-memory ledger, one shard: after each destination call is applied the environment dies with chance ${CRASH_RATE} (nothing it had in flight reaches the ledger, no commit, no release), and the batch is retried in a fresh environment once the dead one's claims have run out. hot: 10 accounts, 10 consecutive versions each per batch; cold: 100 accounts, one version each. "delivered again" counts deliveries of a version the destination already held.`,
    crashRate: CRASH_RATE,
    rows,
  };
}
