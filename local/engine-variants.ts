import type { DeliveryMode } from '../shared/ordering/delivery-mode';
import { OrderingEngine, type OrderingEngineOptions } from '../shared/ordering/engine';
import type { DeadLetterQueue, Delivery, DeliveryResult, Destination } from '../shared/ordering/ports';

/*
 * The engine configurations the bench measures and `fanout plan --simulate` runs: one definition for both, so the
 * plan's simulated writes per record come from the same engine settings as the bench's measured ones.
 */

const DELIVERED: DeliveryResult = { status: 'delivered' };

/**
 * A destination that accepts everything and does nothing, answering on a later turn of the event loop as a call over
 * the network does. Answering at once made a decode-only pass one synchronous stretch per chunk of batches, which a
 * function never is: V8 then ran no scavenge until the young generation was full, while the engine, whose coalescer
 * waits a turn, gave it the turns where V8 runs one early (a task at 80% full). The pass-through measured 1.8 µs a
 * record cheaper for that alone (see the README, bench (a)).
 */
export function noopDestination(name: string, mode: DeliveryMode): Destination & { deliveries: number; calls: number } {
  return {
    name,
    mode,
    deliveries: 0,
    calls: 0,
    async deliver(deliveries: readonly Delivery[]) {
      this.calls += 1;
      this.deliveries += deliveries.length;
      await new Promise<void>((resolve) => setImmediate(resolve));
      return deliveries.map(() => DELIVERED);
    },
  };
}

export const noopDeadLetters: DeadLetterQueue = {
  async send(letters) {
    return letters.map(() => true);
  },
};

export type InOrderCommit = 'per-version' | 'per-batch';

export interface Variant {
  /** Key in results.json. */
  readonly key: string;
  readonly label: string;
  readonly mode: DeliveryMode;
  readonly inOrderCommit?: InOrderCommit;
  /** Part of the consumers' default settings (per-version commits and claims-only are opt-ins). */
  readonly isDefault: boolean;
  /**
   * Pass each batch's shard as its lane (`ProcessOptions.lane`): the consumers' `IN_ORDER_HOME_LANES`. Lanes per
   * partition key (a `parallelizationFactor` above 1) cost the engine the same; without, it claims (`none`, or an
   * embedder that gives no lane).
   */
  readonly homeLanes?: boolean;
  /** `destinationEnforced`: the consumers' `DESTINATION_ENFORCED`. */
  readonly destinationEnforced?: boolean;
}

export const VARIANTS: readonly Variant[] = [
  { key: 'everyVersion', label: 'every-version', mode: 'every-version', isDefault: true },
  { key: 'latestState', label: 'latest-state', mode: 'latest-state', isDefault: true },
  { key: 'latestStateEnforced', label: 'latest-state (destination-enforced)', mode: 'latest-state', destinationEnforced: true, isDefault: false },
  { key: 'inOrder', label: 'in-order (per-version)', mode: 'in-order', inOrderCommit: 'per-version', isDefault: false },
  { key: 'inOrderPerBatch', label: 'in-order (per-batch, claims only)', mode: 'in-order', inOrderCommit: 'per-batch', isDefault: false },
  { key: 'inOrderPerVersionHomeLanes', label: 'in-order (per-version, home lanes)', mode: 'in-order', inOrderCommit: 'per-version', homeLanes: true, isDefault: false },
  { key: 'inOrderHomeLanes', label: 'in-order (per-batch, home lanes)', mode: 'in-order', inOrderCommit: 'per-batch', homeLanes: true, isDefault: true },
];

/**
 * Builds an engine. `inOrderCommit` is passed through a cast so this compiles whether or not the engine in this
 * checkout knows the option yet.
 */
export function makeEngine(variant: Variant, base: Omit<OrderingEngineOptions, 'destination'>, name: string) {
  const destination = noopDestination(name, variant.mode);
  const options = {
    ...base,
    destination,
    ...(variant.inOrderCommit ? { inOrderCommit: variant.inOrderCommit } : {}),
    ...(variant.destinationEnforced ? { destinationEnforced: true } : {}),
  };
  return { engine: new OrderingEngine(options as OrderingEngineOptions), destination };
}
