import { describe, expect, test } from 'vitest';
import { consumerEnvironment } from '../../infra/config/consumer-environment';
import { DEFAULT_PIPELINE_CONFIG } from '../../infra/config/defaults';
import { parsePipelineConfig } from '../../infra/config/load-config';
import { PipelineConfigError } from '../../infra/config/pipeline-config';
import { readConsumerConfig } from '../../shared/config/consumer-config';
import { ConfigurationError } from '../../shared/config/env';
import { isReplayDelivery, type DeliveryMode, type Epoch } from '../../shared/ordering/delivery-mode';
import type { Delivery } from '../../shared/ordering/ports';
import { harness } from '../support/engine-harness';
import { accountHistory, pick } from '../support/histories';

/** accountHistory's version v is created at START + v ms. */
const START = 1_795_392_000_000_000;
const createdAt = (version: number): number => START + version * 1_000;
/** Versions 1-3 predate the replay's start (replayBefore), 4 and later are live. */
const REPLAY: Epoch = { id: 'replay-1', replay: true, replayBefore: createdAt(4) };

/** A harness that records the replay marker of every delivery the destination accepted: version → replay. */
function recording(mode: DeliveryMode, epoch: Epoch) {
  const h = harness(mode, { epoch });
  const marks: [number, boolean, boolean][] = [];
  h.destination.intercept = (delivery: Delivery) => {
    marks.push([delivery.record.version, delivery.replay, delivery.healed]);
    expect(delivery.epoch).toBe(epoch.id);
    return undefined;
  };
  return { h, marks };
}

describe('Epoch.replayBefore: replay markers only for history', () => {
  test('isReplayDelivery: a replay epoch without replayBefore marks everything, with it only what predates it', () => {
    expect(isReplayDelivery({ id: 'live', replay: false }, 0)).toBe(false);
    expect(isReplayDelivery({ id: 'r', replay: true }, Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(isReplayDelivery(REPLAY, createdAt(3))).toBe(true);
    expect(isReplayDelivery(REPLAY, createdAt(4))).toBe(false);
    expect(isReplayDelivery(REPLAY, createdAt(4) - 1)).toBe(true);
    // replayBefore never turns a live epoch's deliveries into replays.
    expect(isReplayDelivery({ id: 'live', replay: false, replayBefore: createdAt(9) }, createdAt(1))).toBe(false);
  });

  test('every-version: versions created before replayBefore are replays, later ones live', async () => {
    const { h, marks } = recording('every-version', REPLAY);
    await h.engine.process(accountHistory('A', 6));
    expect(marks.map(([version, replay]) => [version, replay]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, false],
      [5, false],
      [6, false],
    ]);
  });

  test('latest-state: the newest version of the batch is live when it was created after replayBefore', async () => {
    const { h, marks } = recording('latest-state', REPLAY);
    const history = accountHistory('A', 6);
    await h.engine.process(pick(history, 1, 2, 3));
    await h.engine.process(pick(history, 4, 5));
    expect(marks).toEqual([
      [3, true, false],
      [5, false, false],
    ]);
  });

  test('in-order: drained parked versions are marked by their own creation time, healed ones by their successor\'s', async () => {
    // A healed change's creation time is its successor's (an upper bound): healed 3 counts as created with 4.
    const { h, marks } = recording('in-order', { ...REPLAY, replayBefore: createdAt(5), from: createdAt(2) });
    const history = accountHistory('A', 7);
    // The replay starts at 2 (its predecessor predates the start); 4 and 5 park behind the missing 3, which is then healed from 4's old image.
    await h.engine.process(pick(history, 2));
    await h.engine.process(pick(history, 5, 6));
    await h.engine.process(pick(history, 4, 7));
    expect(marks).toEqual([
      [2, true, false],
      [3, true, true],
      [4, true, false],
      [5, false, false],
      [6, false, false],
      [7, false, false],
    ]);
  });

  test('without replayBefore a replay epoch marks every delivery, and the live epoch none', async () => {
    const { replayBefore: _unset, ...plain } = REPLAY;
    const replay = recording('in-order', plain);
    await replay.h.engine.process(accountHistory('A', 5));
    expect(replay.marks.map(([, marked]) => marked)).toEqual([true, true, true, true, true]);
    const live = recording('in-order', { id: 'live', replay: false });
    await live.h.engine.process(accountHistory('A', 5));
    expect(live.marks.map(([, marked]) => marked)).toEqual([false, false, false, false, false]);
  });
});

describe('EPOCH_REPLAY_BEFORE and destinations.<d>.replayBefore', () => {
  const base = { ACCOUNTS_TABLE_NAME: 'Accounts', LEDGER_TABLE_NAME: 'Ledger', DEAD_LETTER_QUEUE_URL: 'http://q', AUDIT_BUCKET_NAME: 'b' };

  test('the consumer reads EPOCH_REPLAY_FROM as the epoch start, and refuses the removed first-seen baseline', () => {
    const config = readConsumerConfig('audit', { ...base, LEDGER_EPOCH: 'replay-1', EPOCH_REPLAY_FROM: '2026-11-01T00:00:00Z' });
    expect(config.epoch).toEqual({ id: 'replay-1', replay: true, from: Date.parse('2026-11-01T00:00:00Z') * 1000 });
    expect(() => readConsumerConfig('audit', { ...base, LEDGER_EPOCH: 'replay-1', EPOCH_REPLAY_FROM: 'yesterday' })).toThrow(/^EPOCH_REPLAY_FROM: /);
    expect(() => readConsumerConfig('audit', { ...base, LEDGER_EPOCH: 'replay-1', EPOCH_BASELINE: 'first-seen' })).toThrow(/^EPOCH_BASELINE: .*EPOCH_REPLAY_FROM/);
  });

  test('the consumer reads EPOCH_REPLAY_BEFORE as microseconds since the epoch', () => {
    const config = readConsumerConfig('audit', { ...base, LEDGER_EPOCH: 'replay-1', EPOCH_REPLAY_BEFORE: '2026-11-23T10:15:30.123+01:00' });
    expect(config.epoch).toEqual({ id: 'replay-1', replay: true, replayBefore: Date.parse('2026-11-23T09:15:30.123Z') * 1000 });
    expect(readConsumerConfig('audit', { ...base, LEDGER_EPOCH: 'replay-1' }).epoch.replayBefore).toBeUndefined();
  });

  test.each(['yesterday', '2026-11-23', '2026-11-23T10:15:30', '1795392000'])('refuses EPOCH_REPLAY_BEFORE=%s, naming the variable', (value) => {
    expect(() => readConsumerConfig('audit', { ...base, LEDGER_EPOCH: 'replay-1', EPOCH_REPLAY_BEFORE: value })).toThrow(ConfigurationError);
    expect(() => readConsumerConfig('audit', { ...base, LEDGER_EPOCH: 'replay-1', EPOCH_REPLAY_BEFORE: value })).toThrow(/^EPOCH_REPLAY_BEFORE: /);
  });

  test('the stack configuration accepts replayBefore with a replay epoch and passes it to the function', () => {
    const config = parsePipelineConfig(
      { destinations: { fraud: { epoch: 'replay-2', startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: '2026-11-01T00:00:00Z', replayBefore: '2026-11-23T10:00:00Z' } } },
      'test',
    );
    expect(config.destinations.fraud.replayBefore).toBe('2026-11-23T10:00:00Z');
    const resources = { pipelineName: 'P', accountsTable: 'A', ledgerTable: 'L', deadLetterQueueUrl: 'q' };
    expect(consumerEnvironment(config.destinations.fraud, resources, {})).toMatchObject({
      EPOCH_REPLAY_BEFORE: '2026-11-23T10:00:00Z',
      // The replay's start is the mapping's timestamp: the engine starts each account at its first change from then on.
      EPOCH_REPLAY_FROM: '2026-11-01T00:00:00Z',
    });
    expect(consumerEnvironment(DEFAULT_PIPELINE_CONFIG.destinations.fraud, resources, {})).not.toHaveProperty('EPOCH_REPLAY_FROM');
    expect(consumerEnvironment(DEFAULT_PIPELINE_CONFIG.destinations.fraud, resources, {})).not.toHaveProperty('EPOCH_REPLAY_BEFORE');
  });

  test('a replay whose mapping reads from before its window (replayFrom) gives the function the window, and replayFrom goes only there', () => {
    const resources = { pipelineName: 'P', accountsTable: 'A', ledgerTable: 'L', deadLetterQueueUrl: 'q' };
    const replay = { epoch: 'replay-3', startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: '2026-11-01T00:00:00Z' };
    const config = parsePipelineConfig({ destinations: { fraud: { ...replay, replayFrom: '2026-11-01T00:05:00Z' } } }, 'test');
    expect(consumerEnvironment(config.destinations.fraud, resources, {})).toMatchObject({ EPOCH_REPLAY_FROM: '2026-11-01T00:05:00Z' });
    const refused = (settings: object) => () => parsePipelineConfig({ destinations: { fraud: settings } }, 'test');
    expect(refused({ ...replay, replayFrom: '2026-10-31T23:59:00Z' })).toThrow(/replayFrom: must not be before startingPositionTimestamp/);
    expect(refused({ replayFrom: '2026-11-01T00:05:00Z' })).toThrow(/replayFrom: is only allowed with a replay epoch read from "AT_TIMESTAMP"/);
  });

  test('a parallelization factor above 1 makes a lane the shard and the partition key: several batches of one shard run at once, one per key', () => {
    const resources = { pipelineName: 'P', accountsTable: 'A', ledgerTable: 'L', deadLetterQueueUrl: 'q' };
    const parallel = parsePipelineConfig({ destinations: { fraud: { parallelizationFactor: 2 } } }, 'test');
    expect(consumerEnvironment(parallel.destinations.fraud, resources, {})).toMatchObject({ IN_ORDER_HOME_LANES: 'partition-key', PARALLELIZATION_FACTOR: '2' });
    expect(readConsumerConfig('fraud', { ...base, ...consumerEnvironment(parallel.destinations.fraud, resources, {}) })).toMatchObject({ homeLanes: 'partition-key', parallelizationFactor: 2 });
    expect(consumerEnvironment(DEFAULT_PIPELINE_CONFIG.destinations.fraud, resources, {})).not.toHaveProperty('IN_ORDER_HOME_LANES');
    expect(readConsumerConfig('fraud', { ...base, ...consumerEnvironment(DEFAULT_PIPELINE_CONFIG.destinations.fraud, resources, {}) }).homeLanes).toBe('shard');
  });

  test('the stack configuration refuses replayBefore on the live epoch, or when it is no ISO time', () => {
    const onLive = () => parsePipelineConfig({ destinations: { search: { replayBefore: '2026-11-23T10:00:00Z' } } }, 'test');
    expect(onLive).toThrow(PipelineConfigError);
    expect(onLive).toThrow(/^destinations\.search\.replayBefore: is only allowed with a replay epoch/);
    expect(() => parsePipelineConfig({ destinations: { search: { epoch: 'r', replayBefore: '2026-02-30T00:00:00Z' } } }, 'test')).toThrow(
      /destinations\.search\.replayBefore: must be an ISO 8601 time/,
    );
  });
});
