import type { Ledger } from '../shared/ordering/ports';

/** A simulated process death: nothing after it runs, not even clean-up. */
export class Crash extends Error {
  constructor() {
    super('injected crash');
    this.name = 'Crash';
  }
}

/**
 * `ledger` with `before` awaited ahead of every operation that reads or changes it: an interleaving point for a
 * model's scheduler, or a process death (throw once dead) that leaves the table as the dead process left it.
 * Shared by the property models and the crash bench, so both kill an engine the same way.
 */
export function guarded(ledger: Ledger, before: () => Promise<void>): Ledger {
  return {
    destination: ledger.destination,
    epoch: ledger.epoch,
    load: async (accountIds) => (await before(), ledger.load(accountIds)),
    parked: async (accountId, from, to, limit) => (await before(), ledger.parked(accountId, from, to, limit)),
    write: async (write) => (await before(), ledger.write(write)),
    waiting: (after) => ledger.waiting(after),
    sweepPosition: async () => (await before(), ledger.sweepPosition()),
    saveSweepPosition: async (position) => (await before(), ledger.saveSweepPosition(position)),
  };
}
