import type { Parameters } from 'fast-check';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { InOrderCommit } from '../../shared/ordering/delivery-mode';
import type { DeadLetter, DeadLetterReason } from '../../shared/ordering/ports';
import type { Applied, EdgeWorld, Lane } from './edge-drive';
import { RUNS } from './shapes';
import { canonical, changeDigest } from '../../shared/ordering/change-digest';

/**
 * Runs of an edge property, scaled like the others by FAST_CHECK_RUNS (1,000 = the CI default), and fast-check's
 * parameters: FAST_CHECK_SEED (and FAST_CHECK_PATH) replay a reported failure exactly.
 */
export function edgeParams<T>(runsAt1000: number): Parameters<T> {
  const seed = process.env.FAST_CHECK_SEED;
  const path = process.env.FAST_CHECK_PATH;
  return {
    numRuns: Math.max(1, Math.round((runsAt1000 * RUNS) / 1000)),
    ...(seed === undefined ? {} : { seed: Number(seed) }),
    ...(path === undefined ? {} : { path }),
  };
}

/** What a failure message starts with: the driver's own seed (the shape's), so the stream and chaos can be rebuilt. */
export function context(shape: { seed: number }, world: EdgeWorld): string {
  return `driver seed ${shape.seed} (crashes ${world.crashes}, clock ${world.clock.time})`;
}

/** The versions as maximal ranges, e.g. [1,2,3,7] → [[1,3],[7,7]]. */
export function toRanges(versions: Iterable<number>): [number, number][] {
  const sorted = [...new Set(versions)].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const version of sorted) {
    const last = ranges.at(-1);
    if (last && last[1] + 1 === version) last[1] = version;
    else ranges.push([version, version]);
  }
  return ranges;
}

export function inRanges(ranges: readonly (readonly [number, number])[] | undefined, version: number): boolean {
  return (ranges ?? []).some(([from, to]) => from <= version && version <= to);
}

export function versionsIn(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** The first delivery of each version, in arrival order. */
export function firsts(versions: readonly number[]): number[] {
  return versions.filter((version, i) => versions.indexOf(version) === i);
}

/**
 * In-order as received: never an older version after a newer one; a version comes again only as the commit mode
 * allows (`per-version`: the version just delivered, after a crash or a lost claim; `per-batch`: a claimed run replayed
 * from its start, so a repeat of any version already received).
 */
export function orderProblems(versions: readonly number[], commit: InOrderCommit): string[] {
  const found: string[] = [];
  let top = 0;
  const seen = new Set<number>();
  versions.forEach((version, i) => {
    if (!seen.has(version)) {
      if (version <= top) found.push(`first delivery of ${version} after ${top}`);
    } else if (commit === 'per-version' && version !== versions[i - 1]) {
      found.push(`${version} again after ${versions[i - 1]}`);
    }
    seen.add(version);
    top = Math.max(top, version);
  });
  return found;
}

export function lettersOf(lane: Lane, accountId: string, reason?: DeadLetterReason): DeadLetter[] {
  return lane.deadLetters.letters.filter((l) => l.accountId === accountId && (reason === undefined || l.reason === reason));
}

export function appliedOf(lane: Lane, accountId: string): Applied[] {
  return lane.destination.log.filter((entry) => entry.accountId === accountId);
}

/**
 * A healed delivery must be the change the account's images prove: the real record's image, or (after a write that
 * did not raise the version) the image the item held at that version. Returns a problem, or undefined.
 */
export function healProblem(entry: Applied, real: ChangeRecord | undefined, heldThen: unknown): string | undefined {
  if (!entry.healed) return undefined;
  const image = canonical(entry.record.newImage ?? null);
  if (real && image === canonical(real.newImage ?? null)) return undefined;
  if (heldThen !== undefined && image === canonical(heldThen)) return undefined;
  return `healed ${entry.version} is neither the real change nor an image the item held: ${image}`;
}

/**
 * Notices for one gap may go out twice only when the account's pending notice was taken over: its writer was slower
 * than its lease (documented at-least-once, like a delivery whose claim ran out). An unfenced resend never passes:
 * the drive records it as a problem.
 */
export function repeatedByTakeover(lane: Lane, accountId: string): boolean {
  return lane.noticesTakenOver.has(accountId);
}

/** A short description of letters, for messages. */
export function describeLetters(letters: readonly DeadLetter[]): string {
  return letters.map((l) => `${l.accountId}#${l.version} ${l.reason}${l.missing ? ` ${JSON.stringify(l.missing)}` : ''}`).join(' ');
}

/**
 * The change reached the destination (as itself, or as a heal with its very content), a letter carries it, or it is
 * still parked: it was not dropped silently.
 */
export function handled(lane: Lane, record: ChangeRecord): boolean {
  return (
    lane.destination.log.some((e) => (e.healed ? e.version === record.version && changeDigest(e.record) === changeDigest(record) : e.record.eventId === record.eventId)) ||
    lane.deadLetters.letters.some((l) => l.record?.eventId === record.eventId) ||
    lane.ledger.allParked().some((r) => r.eventId === record.eventId)
  );
}

/** The dispositions the engines gave the copies of `record` (copies' sequence numbers are `<record's>/<copy>`). */
export function dispositionsOf(lane: Lane, record: ChangeRecord): string[] {
  return lane.dispositions.filter((d) => d.sequenceNumber.startsWith(`${record.sequenceNumber}/`)).map((d) => d.disposition);
}

/**
 * The operator skips each in-order gap that timed out, through the end of the run of never-sent versions it starts,
 * and lets the sweeper drain what was parked behind it; until no account waits behind a notice.
 */
export async function skipTimedOutGaps(world: EdgeWorld, lane: Lane, neverSent: (accountId: string) => ReadonlySet<number>, say: string[]): Promise<void> {
  if (lane.spec.mode !== 'in-order') return;
  for (let round = 0; round < 12; round += 1) {
    const timedOut = [...(await lane.ledger.load(await world.waiting(lane))).values()].filter((w) => w.gapNotice !== undefined);
    if (timedOut.length === 0) return;
    for (const w of timedOut) {
      const run = toRanges(neverSent(w.accountId)).find(([from, to]) => from <= w.version + 1 && w.version + 1 <= to);
      if (run === undefined) {
        say.push(`${w.accountId} timed out waiting for ${w.version + 1}, which was sent`);
        return;
      }
      await world.skipGap(lane, w.accountId, run[1], 'never captured');
    }
    await world.settle(lane);
  }
}
