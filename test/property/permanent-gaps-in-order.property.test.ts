import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { appliedOf, context, describeLetters, edgeParams, firsts, healProblem, inRanges, lettersOf, orderProblems, repeatedByTakeover } from './edge-checks';
import { EdgeWorld, type Lane } from './edge-drive';
import { buildGapStream, gapShapes, inOrderPlan, sentAbove, skipReason, type GapShape, type GapStream } from './gap-model';
import { seededYields } from './yields';

/**
 * `in-order` with versions that never arrive and a finite gap age, with crashes between a delivery and its commit
 * (and, where gaps time out while the stream is read, claims that may run out while their engine is still at work).
 * A gap of one version is healed; an account missing its versions 1 and 2 is baselined; every other gap stops the
 * account at it, sends ONE GAP_TIMEOUT notice (records stay parked) and waits for the operator's skip, after which
 * the parked versions go out in order and the next gap does the same.
 */
describe('in-order: permanent gaps, finite gap age, operator skips', () => {
  test('stops at each gap with one notice and its records parked; after the skips receives every sent version in order', async () => {
    await fc.assert(
      fc.asyncProperty(gapShapes(false), async (shape) => {
        const stream = buildGapStream(shape);
        const { world, lane } = await consumed(shape, stream, false);
        const say = world.problems;
        const plans = new Map(stream.accounts.map((a) => [a.id, inOrderPlan(a)]));

        // Drained with the clock past the gap age, nothing skipped yet: each account stops at its first gap.
        const parked = world.parked(lane);
        for (const a of stream.accounts) {
          const plan = plans.get(a.id)!;
          const gap = plan.gaps[0];
          const expected = plan.delivered.filter((v) => gap === undefined || v < gap[0]);
          const got = firsts(lane.destination.versionsOf(a.id));
          if (got.join() !== expected.join()) say.push(`${a.id}: before any skip received [${got}], expected [${expected}]`);
          const notices = lettersOf(lane, a.id, 'GAP_TIMEOUT').map((l) => ({ version: l.version, missing: l.missing, waiting: l.waiting, record: l.record }));
          const want = gap ? [{ version: gap[0], missing: [gap], waiting: sentAbove(a, gap[1]), record: undefined }] : [];
          if (JSON.stringify(notices) !== JSON.stringify(want)) say.push(`${a.id}: notices ${JSON.stringify(notices)}, expected ${JSON.stringify(want)}`);
          const stillParked = parked.filter((r) => r.accountId === a.id).map((r) => r.version).sort((x, y) => x - y);
          const wantParked = gap ? [...a.sent].filter((v) => v > gap[1]).sort((x, y) => x - y) : [];
          if (stillParked.join() !== wantParked.join()) say.push(`${a.id}: parked [${stillParked}], expected [${wantParked}]`);
        }

        // The operator skips each account's gaps one at a time; each next gap times out with its own notice.
        const rounds = Math.max(0, ...[...plans.values()].map((plan) => plan.gaps.length));
        for (let round = 0; round < rounds; round += 1) {
          for (const a of stream.accounts) {
            const gap = plans.get(a.id)!.gaps[round];
            if (gap === undefined) continue;
            const result = await world.skipGap(lane, a.id, gap[1], skipReason(a.id, gap));
            if (!('skipped' in result.skip) || result.skip.skipped.from !== gap[0] || result.skip.skipped.to !== gap[1]) {
              say.push(`${a.id}: skip of ${gap[0]}-${gap[1]} came to ${JSON.stringify(result.skip)}`);
            }
          }
          await world.settle(lane);
        }

        for (const a of stream.accounts) {
          const plan = plans.get(a.id)!;
          const received = lane.destination.versionsOf(a.id);
          const got = firsts(received);
          if (got.join() !== plan.delivered.join()) say.push(`${a.id}: received [${got}], expected [${plan.delivered}]`);
          say.push(...orderProblems(received, shape.inOrderCommit).map((p) => `${a.id}: ${p} in [${received}]`));
          for (const entry of appliedOf(lane, a.id)) {
            const problem = healProblem(entry, a.records[entry.version - 1], undefined);
            if (problem) say.push(`${a.id}: ${problem}`);
          }
          const notices = lettersOf(lane, a.id, 'GAP_TIMEOUT').map((l) => [l.version, JSON.stringify(l.missing), l.waiting]);
          const want = plan.gaps.map((gap) => [gap[0], JSON.stringify([gap]), sentAbove(a, gap[1])]);
          if (JSON.stringify(notices) !== JSON.stringify(want)) say.push(`${a.id}: notices ${JSON.stringify(notices)}, expected one per gap ${JSON.stringify(want)}`);
          const w = await world.watermark(lane, a.id);
          const skips = (w?.skips ?? []).map((note) => [note.from, note.to, note.reason]);
          const wantSkips = plan.gaps.map((gap) => [gap[0], gap[1], skipReason(a.id, gap)]);
          if (JSON.stringify(skips) !== JSON.stringify(wantSkips)) say.push(`${a.id}: skips ${JSON.stringify(skips)}, expected ${JSON.stringify(wantSkips)}`);
        }
        const baselined = [...plans.values()].filter((plan) => plan.baselined).length;
        if (lane.counts.baselined !== baselined) say.push(`baselined ${lane.counts.baselined} accounts, expected ${baselined}`);
        await finalChecks(world, lane, say, ['GAP_TIMEOUT']);
        expect(say, context(shape, world)).toEqual([]);
      }),
      edgeParams(300),
    );
  }, 600_000);

  test('with gaps timing out while the stream is still read: order holds, nothing is lost, every gap gets one notice', async () => {
    await fc.assert(movingGaps(fc.constantFrom(5_000, LONG_CLAIMS)), edgeParams(300));
  }, 600_000);

  // Regression (fixed): two engines that both found a gap timed out (each on its own batch, reading the watermark
  // before the other's notice was written) both sent a GAP_TIMEOUT notice: the notice went out before the ledger
  // recorded it. A notice is now written pending first, so only the engine whose write wins sends it. Pinned shrunk
  // case: one account of 15 versions, 1 and 11 never sent, 3 shards, batches of 1, gap age 1 s: notices [3-7], [3-6].
  test('with engines racing, a gap that times out mid-stream gets exactly one notice', async () => {
    await fc.assert(movingGaps(), { numRuns: 1, examples: [[RACING_NOTICES, LONG_CLAIMS]] });
  }, 600_000);

  // Regression (fixed): a pending notice judged abandoned was sent again without a pending write of its own, and
  // its writer sent it however late. Now the notice is always written pending by the engine that sends it, and
  // not sent once its writer's lease is up; a second notice is then only the at-least-once of a writer slower
  // than its lease (`noticesTakenOver`), like a delivery whose claim ran out.
  test('a pending notice is sent only by the engine that wrote it pending; twice only when its writer outlived its lease', async () => {
    await fc.assert(movingGaps(), { numRuns: 1, examples: [[ABANDONED_TOO_SOON, 5_000]] });
  }, 600_000);
});

const RACING_NOTICES: GapShape = {
  lengths: [15], seed: 0, duplicateRate: 0, shards: 3, maxBatchSize: 1, gapRate: 0.1, maxRun: 1,
  crashRate: 0, maxGapAgeMs: 1_000, inOrderCommit: 'per-version',
};

const ABANDONED_TOO_SOON: GapShape = {
  lengths: [16], seed: 171, duplicateRate: 0, shards: 2, maxBatchSize: 1, gapRate: 0.3, maxRun: 1,
  crashRate: 0, maxGapAgeMs: 5_000, inOrderCommit: 'per-version',
};

/** Claims that outlast the whole stream's reading: only crashed engines' claims expire (in the drain). */
const LONG_CLAIMS = 3_600_000;

/**
 * Gaps time out while the stream is read, on engines racing on every shard, with claims of `claims`; the operator skips
 * whatever gap an account waits behind. One notice per gap, except where an engine crashed on the account: a notice
 * is at-least-once only across a crash (a crash between sending it and recording it sent leaves it pending, and a
 * sweep sends it again once the crashed engine's claim has run out), as a delivery in flight at a crash is delivered
 * again, or where its pending notice was taken over from a writer slower than its lease (`repeatedByTakeover`).
 */
function movingGaps(claims: fc.Arbitrary<number> = fc.constant(LONG_CLAIMS)): fc.IAsyncPropertyWithHooks<[GapShape, number]> {
  return fc.asyncProperty(gapShapes(true), claims, async (shape, claimTtlMs) => {
    const stream = buildGapStream(shape);
    const { world, lane } = await consumed(shape, stream, true, claimTtlMs);
    const say = world.problems;
    // The operator skips whatever gap an account waits behind, through the end of its missing run.
    for (let round = 0; round < 12; round += 1) {
      const waiting = await world.waiting(lane);
      if (waiting.length === 0) break;
      for (const accountId of waiting) {
        const a = stream.accounts.find((x) => x.id === accountId)!;
        const next = ((await world.watermark(lane, accountId))?.version ?? 0) + 1;
        const run = a.runs.find(([from, to]) => from <= next && next <= to);
        if (run === undefined) {
          say.push(`${accountId} waits for ${next}, which was sent`);
          continue;
        }
        await world.skipGap(lane, accountId, run[1], skipReason(accountId, run));
      }
      await world.settle(lane);
    }

    for (const a of stream.accounts) {
      const received = lane.destination.versionsOf(a.id);
      say.push(...orderProblems(received, shape.inOrderCommit).map((p) => `${a.id}: ${p} in [${received}]`));
      const w = await world.watermark(lane, a.id);
      const notices = lettersOf(lane, a.id, 'GAP_TIMEOUT');
      const crashed = lane.crashesByAccount.has(a.id);
      const late = new Set(lettersOf(lane, a.id, 'BEFORE_BASELINE').map((l) => l.version));
      for (const record of a.records) {
        const v = record.version;
        const delivered = received.includes(v);
        // A delivery made by an engine that then crashed, or that was slower than its claim, is unknown to the ledger
        // (documented: the version in flight is delivered again when the account gets that far); an account that then
        // waits too long for its start is baselined past it, and the version, when it comes again, is BEFORE_BASELINE.
        const lostBelowStart = (crashed || lane.claimsTakenOver.has(a.id)) && v <= (w?.floor ?? 0);
        if (a.sent.has(v) && delivered === late.has(v) && !(delivered && lostBelowStart)) {
          say.push(`${a.id}: sent ${v} ${delivered ? 'both delivered and' : 'neither delivered nor'} dead-lettered BEFORE_BASELINE`);
        }
        if (!a.sent.has(v) && !delivered && !notices.some((l) => inRanges(l.missing, v)) && v > (w?.floor ?? 0)) {
          say.push(`${a.id}: missing ${v} in no GAP_TIMEOUT notice (floor ${w?.floor})`);
        }
        if (late.has(v) && !(v <= (w?.floor ?? 0) || inRanges(w?.skipped, v))) say.push(`${a.id}: ${v} BEFORE_BASELINE above the start`);
      }
      for (const start of new Set(notices.map((l) => l.version))) {
        const same = notices.filter((l) => l.version === start);
        const excused = crashed || repeatedByTakeover(lane, a.id);
        if (same.length > 1 && !excused) say.push(`${a.id}: ${same.length} notices for one gap: ${describeLetters(same)} at ${same.map((l) => l.at)}`);
      }
      for (const entry of appliedOf(lane, a.id)) {
        const problem = healProblem(entry, a.records[entry.version - 1], undefined);
        if (problem) say.push(`${a.id}: ${problem}`);
      }
    }
    await finalChecks(world, lane, say, ['GAP_TIMEOUT', 'BEFORE_BASELINE']);
    expect(say, context(shape, world)).toEqual([]);
  });
}

async function consumed(shape: GapShape, stream: GapStream, moving: boolean, claimTtlMs = LONG_CLAIMS): Promise<{ world: EdgeWorld; lane: Lane }> {
  const world = new EdgeWorld([{ mode: 'in-order', inOrderCommit: shape.inOrderCommit }], {
    seed: shape.seed,
    crashRate: shape.crashRate,
    maxGapAgeMs: shape.maxGapAgeMs,
    interleave: seededYields(shape.seed),
    ...(moving ? { clockStepMs: Math.min(shape.maxGapAgeMs / 2, 2_000), claimTtlMs } : {}),
  });
  const lane = world.lanes[0]!;
  await world.consume(stream.shards);
  await world.settle(lane);
  return { world, lane };
}

/** Nothing parked, nothing waiting, and no letter of another reason. */
async function finalChecks(world: EdgeWorld, lane: Lane, say: string[], reasons: readonly string[]): Promise<void> {
  const parked = world.parked(lane);
  if (parked.length > 0) say.push(`left parked: ${parked.map((r) => `${r.accountId}#${r.version}`).join(' ')}`);
  const waiting = await world.waiting(lane);
  if (waiting.length > 0) say.push(`still waiting: ${waiting.join(' ')}`);
  const other = lane.deadLetters.letters.filter((l) => !reasons.includes(l.reason));
  if (other.length > 0) say.push(`unexpected letters: ${other.map((l) => `${l.accountId}#${l.version} ${l.reason}`).join(' ')}`);
}
