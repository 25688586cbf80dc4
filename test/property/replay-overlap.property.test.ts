import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { DeliveryMode, InOrderCommit } from '../../shared/ordering/delivery-mode';
import { appliedOf, context, describeLetters, edgeParams, firsts, orderProblems, versionsIn } from './edge-checks';
import { EdgeWorld, type Lane } from './edge-drive';
import { BASE_MICROS, changeTime, history, ship, STEP_MICROS, type ShipShape } from './edge-streams';
import { seededYields } from './yields';

/**
 * A replay epoch (`{ id: 'replay-x', replay: true, from: T }`) and the live epoch consume the same stream at the same
 * time, each with its own destination and its own ledger keys in one table: duplicated, in any order, in batches on
 * several shards, with crashes between a delivery and its commit. A change's time is its new image's `updated_at`
 * (a deletion's: its creation time); accounts start at different times, so T cuts each at a different version (before
 * the first, inside, after the last).
 *
 * The replay receives, per account, exactly the versions whose change time is at or after T, marked as a replay:
 * in-order in order, every-version every one, whatever arrived first; latest-state ends at the newest one. The live
 * epoch receives everything, unmarked. Neither dead-letters anything, leaves anything parked, or keeps waiting.
 */

interface ReplayShape extends ShipShape {
  /** Per account: history length, and how many steps after the base its version 1 was written. */
  readonly accounts: readonly { readonly length: number; readonly offset: number }[];
  /** T = base + cut steps (+ half a step when not aligned with a change). */
  readonly cut: number;
  readonly aligned: boolean;
  readonly crashRate: number;
  readonly mode: DeliveryMode;
  readonly inOrderCommit: InOrderCommit;
}

const shapes: fc.Arbitrary<ReplayShape> = fc.record({
  accounts: fc.array(fc.record({ length: fc.integer({ min: 1, max: 14 }), offset: fc.integer({ min: 0, max: 16 }) }), { minLength: 1, maxLength: 5 }),
  cut: fc.integer({ min: 0, max: 34 }),
  aligned: fc.boolean(),
  seed: fc.integer(),
  duplicateRate: fc.constantFrom(0, 0.2),
  shards: fc.integer({ min: 1, max: 3 }),
  maxBatchSize: fc.constantFrom(1, 4, 16),
  crashRate: fc.constantFrom(0, 0.05, 0.2),
  mode: fc.constantFrom<DeliveryMode>('in-order', 'every-version', 'latest-state'),
  inOrderCommit: fc.constantFrom<InOrderCommit>('per-version', 'per-batch'),
});

describe('a replay epoch overlapping live traffic on the same stream and ledger table', () => {
  test('replay receives exactly the changes at or after its start, live receives everything; nothing dead-lettered', async () => {
    await fc.assert(fc.asyncProperty(shapes, (shape) => check(shape, false)), edgeParams(400));
  }, 600_000);

  // BUG (in-order, engines racing): an engine whose batch holds a record from before the window settles it
  // `before-window` and plans to raise the floor over it, but its write loses a race; after re-reading, the raised
  // floor is not re-applied (it is no unwritten fact) and the record, still in hand, is next in order: the replay
  // delivers it. Shrunk: one account of 4 versions, T between versions 2 and 3, 3 shards with batches [1] [3] / [4] /
  // [2]: the replay receives 2, 3 (healed), 4; version 2's disposition says `before-window`. Worse, when the record
  // so delivered is not the floor's successor, the account counts as started there and the lost before-window
  // versions become a gap: e.g. 4 accounts, T at 7.5 steps, 3 shards, batches up to 16, seed -866766964: ACC-3's
  // replay receives only version 5 (before T), then waits behind a GAP_TIMEOUT for 6-7 with 8-10 parked.
  test('in-order replay never delivers a change from before its start when a floor write loses a race', async () => {
    const example: ReplayShape = { ...BASE, accounts: [{ length: 4, offset: 0 }], cut: 2, aligned: false, seed: -376704728, shards: 3, mode: 'in-order' };
    // The shrunk example first; should an engine change move the race, racing in-order shapes look for it again.
    const racing = shapes.map((shape): ReplayShape => ({ ...shape, mode: 'in-order', shards: Math.max(2, shape.shards) }));
    await fc.assert(fc.asyncProperty(racing, (shape) => check(shape, true)), { ...edgeParams<[ReplayShape]>(400), examples: [[example]] });
  }, 600_000);

  // BUG (latest-state): LatestStateRun ignores the replay window altogether (no isBeforeWindow): a replay epoch
  // delivers the newest version of a batch even when it predates the replay's start, e.g. an account whose every
  // change is before T. Shrunk: one account of 1 version, T half a step after it: the replay receives version 1.
  test('latest-state replay never delivers a change from before its start', async () => {
    await assertExample({ ...BASE, accounts: [{ length: 1, offset: 0 }], cut: 1, aligned: false, seed: 0, shards: 1, mode: 'latest-state' });
  });
});

const BASE = { duplicateRate: 0, maxBatchSize: 1, crashRate: 0, inOrderCommit: 'per-version' } as const;

async function assertExample(shape: ReplayShape): Promise<void> {
  await fc.assert(fc.asyncProperty(fc.constant(shape), (s) => check(s, true)), { numRuns: 1 });
}

/**
 * `strict` false leaves out the BUG cases above. latest-state is not held to the window. An in-order replay account on
 * which a ledger write lost a race (the lost floor race needs one) is only held to order: the race may deliver versions
 * from before the window, or leave the account waiting behind them (a GAP_TIMEOUT, records parked). Every other
 * account, and the live epoch always, is held to everything.
 */
async function check(shape: ReplayShape, strict: boolean): Promise<void> {
  const from = BASE_MICROS + shape.cut * STEP_MICROS + (shape.aligned ? 0 : STEP_MICROS / 2);
  const accounts = shape.accounts.map(({ length, offset }, index) =>
    history(`ACC-${index}`, length, { startMicros: BASE_MICROS + offset * STEP_MICROS, endsWithRemove: index % 4 === 3 }).records,
  );
  const world = new EdgeWorld(
    [
      { mode: shape.mode, inOrderCommit: shape.inOrderCommit },
      { mode: shape.mode, inOrderCommit: shape.inOrderCommit, epoch: { id: 'replay-x', replay: true, from } },
    ],
    { seed: shape.seed, crashRate: shape.crashRate, maxGapAgeMs: 60_000, interleave: seededYields(shape.seed) },
  );
  const [live, replay] = world.lanes as [Lane, Lane];
  await world.consume(ship(accounts.flat(), shape));
  await world.settle(live);
  await world.settle(replay);

  const say = world.problems;
  const exempt = (lane: Lane, accountId: string | undefined): boolean =>
    !strict && lane === replay && lane.spec.mode === 'in-order' && accountId !== undefined && lane.conflicts.has(accountId);
  for (const records of accounts) {
    const id = records[0]!.accountId;
    const inWindow = records.filter((r: ChangeRecord) => changeTime(r) >= from).map((r) => r.version);
    expectMode(live, id, versionsIn(1, records.length), shape.inOrderCommit, say, false);
    if (exempt(replay, id)) say.push(...orderProblems(replay.destination.versionsOf(id), shape.inOrderCommit).map((p) => `replay-x ${id}: ${p}`));
    else expectMode(replay, id, inWindow, shape.inOrderCommit, say, !strict && replay.spec.mode === 'latest-state');
    for (const [lane, marked] of [[live, false], [replay, true]] as const) {
      const wrong = appliedOf(lane, id).filter((entry) => entry.replay !== marked);
      if (wrong.length > 0) say.push(`${lane.epoch.id} ${id}: versions ${wrong.map((e) => e.version)} marked replay=${!marked}`);
    }
  }
  for (const lane of [live, replay]) {
    const letters = lane.deadLetters.letters.filter((l) => !exempt(lane, l.accountId));
    if (letters.length > 0) say.push(`${lane.epoch.id}: letters ${describeLetters(letters)}`);
    const parked = world.parked(lane).filter((r) => !exempt(lane, r.accountId));
    if (parked.length > 0) say.push(`${lane.epoch.id}: left parked ${parked.map((r) => `${r.accountId}#${r.version}`).join(' ')}`);
    const waiting = (await world.waiting(lane)).filter((accountId) => !exempt(lane, accountId));
    if (waiting.length > 0) say.push(`${lane.epoch.id}: still waiting ${waiting.join(' ')}`);
  }
  expect(say, `${context(shape, world)}, replay from ${from}`).toEqual([]);
}

/**
 * What the lane's mode owes account `id` when `expected` (ascending) are the versions of its window; `anyBefore`:
 * versions from before the window are let through (latest-state's BUG case).
 */
function expectMode(lane: Lane, id: string, expected: readonly number[], commit: InOrderCommit, say: string[], anyBefore: boolean): void {
  const all = lane.destination.versionsOf(id);
  const received = anyBefore ? all.filter((v) => expected.includes(v)) : all;
  const tell = (what: string): void => void say.push(`${lane.epoch.id} ${lane.spec.mode} ${id}: ${what}; received [${all}], window [${expected}]`);
  switch (lane.spec.mode) {
    case 'in-order':
      if (firsts(received).join() !== expected.join()) tell('not exactly the window in order');
      for (const problem of orderProblems(all, commit)) tell(problem);
      break;
    case 'every-version': {
      const got = [...new Set(received)].sort((a, b) => a - b);
      if (got.join() !== expected.join()) tell('not exactly the window');
      break;
    }
    case 'latest-state':
      if (expected.length > 0 && all.at(-1) !== expected.at(-1)) tell(`ends at ${all.at(-1)}, not ${expected.at(-1)}`);
      if (received.some((v) => !expected.includes(v))) tell('a version before the window');
      break;
  }
}
