import { InMemoryLedger, InMemoryLedgerStore } from '../../shared/ledger/in-memory-ledger';
import { LIVE_EPOCH, type DeliveryMode, type Epoch } from '../../shared/ordering/delivery-mode';
import { OrderingEngine, type OrderingEngineOptions } from '../../shared/ordering/engine';
import { RecordingDeadLetterQueue, RecordingDestination } from '../../local/recording-destination';

/** A hand-driven clock. */
export class ManualClock {
  constructor(public time = 1_800_000_000_000) {}
  readonly now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

export interface Harness {
  readonly destination: RecordingDestination;
  readonly ledger: InMemoryLedger;
  readonly deadLetters: RecordingDeadLetterQueue;
  readonly clock: ManualClock;
  readonly engine: OrderingEngine;
  /** Another engine on the same destination, ledger table and queue (as after a reshard or during a redrive). */
  another(owner: string, overrides?: Partial<OrderingEngineOptions>): OrderingEngine;
}

/**
 * Makes the next watermark write of `accountId` lose a race: just before it, another writer rewrites the same
 * watermark (revision + 1), as a second engine would.
 */
export function loseNextRace(ledger: InMemoryLedger, accountId: string): void {
  const write = ledger.write.bind(ledger);
  let armed = true;
  ledger.write = async (request) => {
    if (armed && request.next.accountId === accountId) {
      armed = false;
      const current = (await ledger.load([accountId])).get(accountId);
      if (current) await write({ expectedRevision: current.revision, next: { ...current, revision: current.revision + 1 }, park: [], unpark: [] });
    }
    return write(request);
  };
}

export function harness(
  mode: DeliveryMode,
  options: { epoch?: Epoch; store?: InMemoryLedgerStore } & Partial<OrderingEngineOptions> = {},
): Harness {
  const destination = new RecordingDestination('dest', mode);
  const epoch = options.epoch ?? LIVE_EPOCH;
  const store = options.store ?? new InMemoryLedgerStore();
  const ledger = new InMemoryLedger({ destination: 'dest', epoch: epoch.id, store });
  const deadLetters = new RecordingDeadLetterQueue();
  const clock = new ManualClock();
  const make = (owner: string, overrides: Partial<OrderingEngineOptions> = {}): OrderingEngine =>
    new OrderingEngine({
      destination,
      ledger,
      deadLetters,
      epoch,
      clock: clock.now,
      maxGapAgeMs: 60_000,
      claimTtlMs: 10_000,
      owner,
      ...options,
      ...overrides,
    });
  return { destination, ledger, deadLetters, clock, engine: make('engine-1'), another: make };
}

/** Counts ledger write requests from now on (one conditional write, whatever items it moves). */
export function countWrites(h: Pick<Harness, 'ledger'>): () => number {
  const write = h.ledger.write.bind(h.ledger);
  let count = 0;
  h.ledger.write = async (request) => ((count += 1), write(request));
  return () => count;
}
