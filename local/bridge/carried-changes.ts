import type { Capture } from './capture';
import type { StreamPayload } from './chaos';
import type { BridgedChange, DrainResult } from './kinesis-bridge-options';
import type { PermanentGaps } from './permanent-gaps';

/*
 * What the bridge got onto the stream: each change whose first copy Kinesis accepted, in that order. It tells a drain
 * whether the stream is complete and is the stream's side of the truth the destinations are verified against; kept
 * apart from the loop that puts, as `PermanentGaps` keeps what was dropped on purpose.
 */
export class CarriedChanges {
  /** Changes with at least one copy on the stream, in the order their first copy was accepted. */
  readonly #carried: Capture[] = [];
  readonly #versions = new Map<string, Set<number>>();
  readonly #changes: BridgedChange[] = [];

  /** The decodable changes carried, with when they were read and first put. */
  get changes(): ReadonlyArray<BridgedChange> {
    return this.#changes;
  }

  get payloads(): StreamPayload[] {
    return this.#carried.map((capture) => capture.payload);
  }

  /** Notes a copy Kinesis accepted at `atMs`; only the first copy of a change counts. */
  accept(capture: Capture, atMs: number): void {
    if (capture.putAtMs !== undefined) return;
    capture.putAtMs = atMs;
    this.#carried.push(capture);
    const change = capture.change;
    if (!change) return;
    let versions = this.#versions.get(change.accountId);
    if (!versions) this.#versions.set(change.accountId, (versions = new Set()));
    versions.add(change.version);
    this.#changes.push({ ...change, readAtMs: capture.readAtMs, putAtMs: atMs });
  }

  /** Versions 1..final of each account that neither reached the stream nor were dropped on purpose (`gaps`). */
  coverage(finalVersions: ReadonlyMap<string, number>, gaps: Pick<PermanentGaps, 'has'>): DrainResult {
    let expected = 0;
    let missing = 0;
    for (const [accountId, final] of finalVersions) {
      expected += final;
      const carried = this.#versions.get(accountId);
      for (let version = 1; version <= final; version += 1) if (!carried?.has(version) && !gaps.has(accountId, version)) missing += 1;
    }
    return { complete: missing === 0, expected, missing };
  }
}
