import { prng } from '../prng';
import type { StreamPayload } from './chaos';
import type { DroppedChange } from './kinesis-bridge-options';

/**
 * The bridge's permanent gaps (`permanentGapRate`): seeded, it picks changes never to put on the stream, each gap two
 * consecutive versions of an account (or its last one), and remembers them: they are still the table's history, and
 * the verifier must know which versions no destination can ever get.
 */
export class PermanentGaps {
  readonly #rate: number;
  readonly #random: () => number;
  /** The changes never put, with their payloads, in capture order. */
  readonly #dropped: (DroppedChange & { readonly payload: StreamPayload })[] = [];
  readonly #droppedVersions = new Map<string, Set<number>>();
  /** Per account, the version that continues a gap just started (dropped too when it is captured). */
  readonly #continues = new Map<string, number>();

  constructor(rate: number, seed: number) {
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`permanentGapRate ${rate} must be between 0 and 1`);
    this.#rate = rate;
    this.#random = prng((Math.imul(seed >>> 0, 0x2c1b3c6d) ^ 0x9e3779b9) >>> 0);
  }

  /** Whether this change is dropped: it starts a gap, or continues the one its account is in. Call in capture order. */
  drops(change: DroppedChange | undefined, payload: StreamPayload): boolean {
    if (this.#rate <= 0 || !change) return false;
    const { accountId, version } = change;
    let drop = false;
    if (this.#continues.get(accountId) === version) {
      this.#continues.delete(accountId);
      drop = true;
    } else if (version >= 2 && this.#random() < this.#rate) {
      this.#continues.set(accountId, version + 1);
      drop = true;
    }
    if (!drop) return false;
    this.#dropped.push({ accountId, version, payload });
    let versions = this.#droppedVersions.get(accountId);
    if (!versions) this.#droppedVersions.set(accountId, (versions = new Set()));
    versions.add(version);
    return true;
  }

  get count(): number {
    return this.#dropped.length;
  }

  get dropped(): ReadonlyArray<DroppedChange> {
    return this.#dropped.map(({ accountId, version }) => ({ accountId, version }));
  }

  get payloads(): StreamPayload[] {
    return this.#dropped.map((change) => change.payload);
  }

  has(accountId: string, version: number): boolean {
    return this.#droppedVersions.get(accountId)?.has(version) ?? false;
  }
}
