import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { Delivery, DeliveryResult, DeliverOptions, Destination } from '../../shared/ordering/ports';
import type { ManualClock } from '../support/engine-harness';

/** One delivery the destination applied, in arrival order. */
export interface Applied {
  readonly accountId: string;
  readonly version: number;
  readonly healed: boolean;
  readonly replay: boolean;
  readonly record: ChangeRecord;
}

export interface Slowness {
  /** Chance that a destination call is slow. */
  readonly rate: number;
  /** A slow call takes 0..maxMs (simulated). */
  readonly maxMs: number;
}

/** A destination that logs whole deliveries, refuses non-newer versions in `latest-state`, and honours deadlines. */
export class LoggingDestination implements Destination {
  readonly log: Applied[] = [];
  refusedStale = 0;
  /** Deliveries answered failed because their call could not finish by its deadline (nothing applied). */
  aborted = 0;
  slowness: Slowness | undefined;
  private readonly stored = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly mode: DeliveryMode,
    private readonly clock: ManualClock,
    private readonly random: () => number,
  ) {}

  async deliver(deliveries: readonly Delivery[], options: DeliverOptions = {}): Promise<readonly DeliveryResult[]> {
    const start = this.clock.now();
    const slow = this.slowness;
    const duration = slow && this.random() < slow.rate ? Math.floor(this.random() * slow.maxMs) : 0;
    if (options.deadline !== undefined && start + duration > options.deadline) {
      // An aborting client: a request that cannot answer by the deadline is cancelled then, and nothing reaches the
      // service; past the deadline already, nothing is sent at all (attempts 0: the engine hands the record back).
      const sent = start < options.deadline;
      await turn();
      this.advanceTo(Math.max(start, options.deadline));
      this.aborted += deliveries.length;
      const detail = sent ? 'aborted at the deadline' : 'the deadline had passed: not sent';
      return deliveries.map(() => ({ status: 'failed', reason: 'DELIVERY_FAILED', detail, attempts: sent ? 1 : 0 }));
    }
    // Applied at the call's start, while the caller's claim is certainly live; the answer comes `duration` later.
    const results = deliveries.map((delivery) => this.apply(delivery));
    if (duration > 0) {
      await turn();
      this.advanceTo(start + duration);
    }
    return results;
  }

  versionsOf(accountId: string): number[] {
    return this.log.filter((entry) => entry.accountId === accountId).map((entry) => entry.version);
  }

  private apply(delivery: Delivery): DeliveryResult {
    const { accountId, version } = delivery.record;
    if (this.mode === 'latest-state') {
      if (version <= (this.stored.get(accountId) ?? 0)) {
        this.refusedStale += 1;
        return { status: 'stale' };
      }
      this.stored.set(accountId, version);
    }
    this.log.push({ accountId, version, healed: delivery.healed, replay: delivery.replay, record: delivery.record });
    return { status: 'delivered' };
  }

  private advanceTo(time: number): void {
    this.clock.time = Math.max(this.clock.time, time);
  }
}

function turn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
