import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { InOrderCommit } from '../../shared/ordering/delivery-mode';
import { HEALED_EVENT_ID_PREFIX } from '../../shared/ordering/heal';
import type { DeadLetter } from '../../shared/ordering/ports';
import { context, describeLetters, edgeParams, firsts, orderProblems, versionsIn } from './edge-checks';
import { EdgeWorld } from './edge-drive';
import { history, ship, type ShipShape } from './edge-streams';
import { seededYields } from './yields';

/**
 * `in-order` with a destination that is sometimes slower than a claim lasts, engines that now and then stall (a paused
 * invocation), several engines racing on every account, and crashes between a delivery and its commit. Time is one
 * ManualClock that every destination call moves on (by the call's simulated duration) and every stall too, so an engine
 * finds that its claim has run out and another engine took the account over. The destination honours each call's deadline (the claim's end less the reserve) as an
 * aborting client does: a call that cannot finish by then is answered DELIVERY_FAILED and applies nothing. What got
 * dead-lettered so is redriven (as `fanout redrive` does) once the destination is fast again.
 *
 * Per account the destination never receives an older version after a newer one; a version comes again only right
 * after itself (per-version: the one just delivered, re-delivered after a crash or a lost claim) or, per-batch, as a
 * claimed run replayed; and in the end it has every version, 1..n.
 */

interface SlowShape extends ShipShape {
  readonly lengths: readonly number[];
  readonly crashRate: number;
  readonly inOrderCommit: InOrderCommit;
  readonly claimTtlMs: number;
  /** Chance that a destination call is slow, and how long a slow one may take, in claim lengths. */
  readonly slowRate: number;
  readonly slowClaims: number;
  /** Lambda's timeout, in claim lengths (0: no invocation deadline). */
  readonly invocationClaims: number;
  /** Chance that an engine stalls before a ledger operation, for up to 1.5 claim lengths. */
  readonly stallRate: number;
}

const shapes: fc.Arbitrary<SlowShape> = fc.record({
  lengths: fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 5 }),
  seed: fc.integer(),
  duplicateRate: fc.constantFrom(0, 0.2),
  shards: fc.integer({ min: 2, max: 4 }),
  maxBatchSize: fc.constantFrom(1, 4, 16),
  crashRate: fc.constantFrom(0, 0.05, 0.2),
  inOrderCommit: fc.constantFrom<InOrderCommit>('per-version', 'per-batch'),
  claimTtlMs: fc.constantFrom(2_500, 5_000),
  slowRate: fc.constantFrom(0.1, 0.3, 0.6),
  slowClaims: fc.constantFrom(0.5, 1.5, 3),
  invocationClaims: fc.constantFrom(0, 3, 10),
  stallRate: fc.constantFrom(0, 0.02, 0.1),
});

/** Takeovers seen across the runs of one property: the property must actually exercise claim expiry. */
let claimsLost = 0;

describe('in-order with a destination slower than its claims, engines racing', () => {
  test('never an older version after a newer one; repeats only as the commit mode allows; every version in the end', async () => {
    claimsLost = 0;
    await fc.assert(fc.asyncProperty(shapes, async (shape) => void (await check(shape))), edgeParams(400));
    expect(claimsLost, 'no run had a claim taken over: the property no longer exercises claim expiry').toBeGreaterThan(0);
  }, 600_000);

  // Regression (fixed): a heal whose delivery failed is dead-lettered (DELIVERY_FAILED) with the healed record, whose
  // creation time is borrowed from the next change. Once the real record of that version had been delivered, the
  // redrive of that letter looked like a version written again and was dead-lettered as a false CONTRACT_BREACH; a heal
  // coming back (event id `healed:…`) is now a copy. Pinned shrunk case: ACC-0 of 3 versions (arriving 3, 2, 1) and
  // ACC-1 of 1, 2 shards, batches of 1, claims of 2.5 s, 60% of calls slow (up to 7.5 s): the heal of 1 is aborted at
  // its deadline, the real 1 goes out under the next claim, the letter is redriven. Then a few shapes more.
  test('redriving a dead-lettered heal of a version delivered since is a duplicate, not a CONTRACT_BREACH', async () => {
    const example: SlowShape = {
      lengths: [3, 1], seed: 387834412, duplicateRate: 0, shards: 2, maxBatchSize: 1, crashRate: 0, inOrderCommit: 'per-version',
      claimTtlMs: 2_500, slowRate: 0.6, slowClaims: 3, invocationClaims: 0, stallRate: 0,
    };
    expect(await check(example), 'the pinned case no longer redrives a heal').toBeGreaterThan(0);
    await fc.assert(fc.asyncProperty(shapes, async (shape) => void (await check(shape))), edgeParams(100));
  }, 600_000);

  // Regression (fixed): an engine whose watermark listed a version as parked, while its batch held a copy, read the
  // parked records for ever once a racing engine had delivered and unparked that version (the listing kept the version
  // while the item was gone). A version whose parked item is gone is now taken off the listing. Pinned shrunk case:
  // ACC-0 of 2 versions and ACC-1 of 1, three copies of ACC-1's version 1, batches of 1, claims of 5 s, 60% of calls
  // slow, 10% of ledger calls stalled.
  // Regression (fixed): per-batch, an engine whose claim was taken over while its deliveries were not yet committed
  // settled those batch records as delivered, though the engine that took over did not hold them: versions 4-5 were
  // lost from the ledger's point of view (a GAP_TIMEOUT, the account stuck). They now go back into play (delivered
  // again in order, parked, or copies). Pinned: fast-check seed 579321801's counterexample.
  test('records delivered under a claim that was taken over go back into play, never count as delivered', async () => {
    const example: SlowShape = {
      lengths: [12, 13, 11, 13, 12], seed: -1793476936, duplicateRate: 0, shards: 3, maxBatchSize: 16, crashRate: 0.2, inOrderCommit: 'per-batch',
      claimTtlMs: 2_500, slowRate: 0.1, slowClaims: 0.5, invocationClaims: 0, stallRate: 0.1,
    };
    await check(example);
  });

  // Regression (fixed): a parked version planned to leave the table, then listed again by a fresh watermark after a
  // lost race, was skipped by every read: the engine asked for it for ever. Pinned: fast-check seed -1055964640's
  // counterexample.
  test('a parked version listed again after a lost race is read, not skipped for ever', async () => {
    const example: SlowShape = {
      lengths: [8, 6, 5, 9, 9], seed: 11, duplicateRate: 0.2, shards: 3, maxBatchSize: 1, crashRate: 0.05, inOrderCommit: 'per-version',
      claimTtlMs: 5_000, slowRate: 0.6, slowClaims: 0.5, invocationClaims: 0, stallRate: 0.1,
    };
    await check(example);
  });

  // Regression (fixed): an engine that took a stale parked listing off its plan checked the item before its write, found
  // a copy another engine had parked since, and dead-lettered it as a CONTRACT_BREACH. Only versions the engine itself
  // delivered are checked now; its conditional write deletes nothing written since. Pinned: fast-check seed 381644354.
  test('a copy parked again by another engine is never taken for a contract breach', async () => {
    const example: SlowShape = {
      lengths: [10, 1, 16, 7, 5], seed: 125473329, duplicateRate: 0, shards: 4, maxBatchSize: 4, crashRate: 0.05, inOrderCommit: 'per-batch',
      claimTtlMs: 2_500, slowRate: 0.1, slowClaims: 0.5, invocationClaims: 0, stallRate: 0.1,
    };
    await check(example);
  });

  test('an engine never loops for ever on a parked version a racing engine has delivered', async () => {
    const example: SlowShape = {
      lengths: [2, 1], seed: 149, duplicateRate: 0.2, shards: 2, maxBatchSize: 1, crashRate: 0, inOrderCommit: 'per-version',
      claimTtlMs: 5_000, slowRate: 0.6, slowClaims: 0.5, invocationClaims: 0, stallRate: 0.1,
    };
    await check(example);
  });
});

/** Checks one shape; returns how many dead-lettered heals were redriven (the regression case's path). */
async function check(shape: SlowShape): Promise<number> {
  const accounts = shape.lengths.map((n, index) => history(`ACC-${index}`, n, { endsWithRemove: index % 3 === 2 }).records);
  const world = new EdgeWorld([{ mode: 'in-order', inOrderCommit: shape.inOrderCommit }], {
    seed: shape.seed,
    crashRate: shape.crashRate,
    claimTtlMs: shape.claimTtlMs,
    // No gap times out: a wait here is only ever for another engine's claim or a redrive.
    maxGapAgeMs: 10 * 24 * 3_600_000,
    interleave: seededYields(shape.seed),
    stall: { rate: shape.stallRate, maxMs: 1.5 * shape.claimTtlMs },
    ...(shape.invocationClaims > 0 ? { invocationMs: shape.invocationClaims * shape.claimTtlMs } : {}),
  });
  const lane = world.lanes[0]!;
  lane.destination.slowness = { rate: shape.slowRate, maxMs: shape.slowClaims * shape.claimTtlMs };
  await world.consume(ship(accounts.flat(), shape));

  // The destination is fast again: redrive what was dead-lettered, as an operator would, until nothing is left.
  lane.destination.slowness = undefined;
  await world.settle(lane);
  const redriven = new Set<DeadLetter>();
  for (let round = 0; round < 10; round += 1) {
    const letters = lane.deadLetters.letters.filter((l) => l.reason === 'DELIVERY_FAILED' && !redriven.has(l));
    if (letters.length === 0) break;
    for (const letter of letters) redriven.add(letter);
    const records = letters.map((l) => l.record!).sort((a, b) => a.accountId.localeCompare(b.accountId) || a.version - b.version);
    await world.redrive(lane, records);
    await world.settle(lane);
  }
  claimsLost += lane.counts.claimsLost;
  const healsRedriven = [...redriven].filter((l) => l.record?.eventId.startsWith(HEALED_EVENT_ID_PREFIX)).length;

  const say = [...world.problems];
  for (const records of accounts) {
    const id = records[0]!.accountId;
    const received = lane.destination.versionsOf(id);
    say.push(...orderProblems(received, shape.inOrderCommit).map((p) => `${id}: ${p} in [${received}]`));
    const expected = versionsIn(1, records.length);
    if (firsts(received).join() !== expected.join()) say.push(`${id}: received [${received}], expected [${expected}] in the end`);
  }
  const parked = world.parked(lane);
  if (parked.length > 0) say.push(`left parked: ${parked.map((r) => `${r.accountId}#${r.version}`).join(' ')}`);
  const waiting = await world.waiting(lane);
  if (waiting.length > 0) say.push(`still waiting: ${waiting.join(' ')}`);
  // Nothing but delivery failures: a redriven heal of a version delivered since is a copy, never a CONTRACT_BREACH.
  const other = lane.deadLetters.letters.filter((l) => l.reason !== 'DELIVERY_FAILED');
  if (other.length > 0) say.push(`unexpected letters: ${describeLetters(other)}`);
  expect(say, `${context(shape, world)}, ${lane.destination.aborted} deliveries aborted at their deadline`).toEqual([]);
  return healsRedriven;
}
