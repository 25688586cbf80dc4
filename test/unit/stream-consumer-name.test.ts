import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consumerGeneration,
  consumerNameStem,
  pipelineNameOfConsumer,
  STREAM_CONSUMER_NAME_LIMIT,
  streamConsumerName,
} from '../../infra/config/consumer-environment';
import { DEFAULT_PIPELINE_CONFIG } from '../../infra/config/defaults';
import type { DestinationSettings } from '../../infra/config/pipeline-config';
import { defaultEpoch } from '../../ops/commands/replay-epoch';

/** RegisterStreamConsumer's ConsumerName: 1-128 characters of `[a-zA-Z0-9_.-]`. */
const KINESIS_CONSUMER_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const settingsOf = (epoch: string): DestinationSettings => ({
  ...DEFAULT_PIPELINE_CONFIG.destinations.fraud,
  epoch,
  ...(epoch === 'live' ? {} : { startingPosition: 'AT_TIMESTAMP' as const, startingPositionTimestamp: '2026-11-01T00:00:00Z' }),
});
/** `<pipeline>-<destination>-<epoch>-<generation>`, whatever its length. */
const whole = (pipeline: string, destination: string, settings: DestinationSettings) =>
  `${pipeline}-${destination}-${settings.epoch}-${consumerGeneration(settings)}`;

/** Names of up to `max` characters of the pipeline and epoch alphabet, as long as `max` as often as short. */
const name = (max: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${max - 1}}$`), { size: 'max' });

const EPOCH = settingsOf('replay-20261101T000000Z');
/** The longest epoch name (`epochNameProblem`: 63 characters) and the longest pipeline name (`checkPipelineName`: 128). */
const LONGEST_EPOCH = settingsOf(`replay-${'e'.repeat(56)}`);
const LONGEST_PIPELINE = `Prod.${'p'.repeat(123)}`;
/** The longest destination name (`DESTINATION_NAME_PATTERN`: 30 characters). */
const LONGEST_DESTINATION = `ledger-queue-${'x'.repeat(17)}`;

describe("an EFO consumer's name", () => {
  it('is the whole name at 127 and 128 characters, and shortened to 128 at 129', () => {
    // fraud (5) + the epoch (23) + a generation (8) + 3 dashes: 39 characters besides the pipeline's.
    const [at127, at128, at129] = [88, 89, 90].map((length) => `P${'a'.repeat(length - 1)}`);
    expect(whole(at127!, 'fraud', EPOCH)).toHaveLength(127);
    expect(streamConsumerName(at127!, 'fraud', EPOCH)).toBe(whole(at127!, 'fraud', EPOCH));
    expect(whole(at128!, 'fraud', EPOCH)).toHaveLength(128);
    expect(streamConsumerName(at128!, 'fraud', EPOCH)).toBe(whole(at128!, 'fraud', EPOCH));
    const shortened = streamConsumerName(at129!, 'fraud', EPOCH);
    expect(whole(at129!, 'fraud', EPOCH)).toHaveLength(129);
    expect(shortened).toHaveLength(128);
    expect(shortened).toMatch(KINESIS_CONSUMER_NAME);
    // The pipeline gives up what does not fit: its first 80 characters and a digest of all 90; the rest stays whole.
    expect(shortened).toMatch(new RegExp(`^${at129!.slice(0, 80)}_[0-9a-f]{8}-fraud-${EPOCH.epoch}-${consumerGeneration(EPOCH)}$`));
  });

  it('keeps the names that fit exactly as they were (a changed name would replace the deployed consumer)', () => {
    expect(streamConsumerName('OrderedFanout', 'fraud', settingsOf('live'))).toBe('OrderedFanout-fraud-live-28334456');
    expect(streamConsumerName('prod.accounts_v2', 'search', EPOCH)).toBe(`prod.accounts_v2-search-${EPOCH.epoch}-${consumerGeneration(EPOCH)}`);
  });

  it('fits the longest pipeline name with the longest epoch and destination, and ends in the generation', () => {
    for (const destination of ['fraud', LONGEST_DESTINATION]) {
      const name = streamConsumerName(LONGEST_PIPELINE, destination, LONGEST_EPOCH);
      expect(whole(LONGEST_PIPELINE, destination, LONGEST_EPOCH).length).toBeGreaterThan(200);
      expect(name).toHaveLength(STREAM_CONSUMER_NAME_LIMIT);
      expect(name).toMatch(KINESIS_CONSUMER_NAME);
      expect(name.startsWith('Prod.ppp')).toBe(true);
      expect(name).toContain(`-${destination}-replay-eee`);
      expect(name.endsWith(`-${consumerGeneration(LONGEST_EPOCH)}`)).toBe(true);
      expect(streamConsumerName(LONGEST_PIPELINE, destination, LONGEST_EPOCH)).toBe(name);
    }
  });

  it("keeps a replay's default epoch whole beside the longest pipeline and destination names", () => {
    const epoch = settingsOf(defaultEpoch(Date.parse('2026-11-01T00:00:00Z'), Date.parse('2026-12-05T07:23:47Z')));
    const name = streamConsumerName(LONGEST_PIPELINE, LONGEST_DESTINATION, epoch);
    expect(name).toHaveLength(128);
    expect(name.endsWith(`-${LONGEST_DESTINATION}-replay-20261101T000000Z-20261205T072347Z-${consumerGeneration(epoch)}`)).toBe(true);
  });

  it('differs for two long names that differ only in what was cut', () => {
    const other = `${LONGEST_PIPELINE.slice(0, -1)}q`;
    expect(streamConsumerName(other, 'fraud', LONGEST_EPOCH)).not.toBe(streamConsumerName(LONGEST_PIPELINE, 'fraud', LONGEST_EPOCH));
    // Epochs that differ in their last character: the shortened epoch's digest differs (and so does the generation).
    const otherEpoch = settingsOf(`${LONGEST_EPOCH.epoch.slice(0, -1)}f`);
    const [one, two] = [LONGEST_EPOCH, otherEpoch].map((settings) => consumerNameStem(LONGEST_PIPELINE, 'fraud', settings.epoch));
    expect(one).toHaveLength(two!.length);
    expect(one).not.toBe(two);
    expect(streamConsumerName(LONGEST_PIPELINE, 'fraud', otherEpoch)).not.toBe(streamConsumerName(LONGEST_PIPELINE, 'fraud', LONGEST_EPOCH));
    // Same epoch, another starting position: only the generation tells them apart, as for short names.
    const later = { ...LONGEST_EPOCH, startingPositionTimestamp: '2026-11-02T00:00:00Z' };
    expect(streamConsumerName(LONGEST_PIPELINE, 'fraud', later)).not.toBe(streamConsumerName(LONGEST_PIPELINE, 'fraud', LONGEST_EPOCH));
  });

  it('leaves a pipeline name that is still a CDK token whole, for CloudFormation to check at deploy', () => {
    const token = '${Token[AWS.StackName.8]}';
    expect(streamConsumerName(token, LONGEST_DESTINATION, LONGEST_EPOCH)).toBe(whole(token, LONGEST_DESTINATION, LONGEST_EPOCH));
  });

  it('is always a valid Kinesis name, the whole one when that fits, and tells its pipeline', () => {
    let shortenedRuns = 0;
    fc.assert(
      fc.property(name(128), fc.stringMatching(/^[a-z][a-z0-9-]{0,29}$/), name(63), (pipeline, destination, epoch) => {
        const settings = settingsOf(epoch);
        const made = streamConsumerName(pipeline, destination, settings);
        const full = whole(pipeline, destination, settings);
        expect(made).toMatch(KINESIS_CONSUMER_NAME);
        if (full.length > 128) shortenedRuns += 1;
        expect(made).toBe(full.length <= 128 ? full : made);
        if (full.length > 128) expect(made).toHaveLength(128);
        expect(made.endsWith(`-${consumerGeneration(settings)}`)).toBe(true);
        expect(pipelineNameOfConsumer(made, destination, epoch, [`x${pipeline}`, pipeline])).toBe(pipeline);
        if (full.length < 128) expect(pipelineNameOfConsumer(made, destination, epoch)).toBe(pipeline);
      }),
      { numRuns: 500 },
    );
    expect(shortenedRuns).toBeGreaterThan(50);
  });

  it('differs for any two pipelines or epochs of one destination', () => {
    fc.assert(
      fc.property(name(128), name(128), name(63), name(63), (p1, p2, e1, e2) => {
        fc.pre(p1 !== p2 || e1 !== e2);
        expect(streamConsumerName(p1, LONGEST_DESTINATION, settingsOf(e1))).not.toBe(streamConsumerName(p2, LONGEST_DESTINATION, settingsOf(e2)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('the pipeline read back from a consumer name', () => {
  const long = streamConsumerName(LONGEST_PIPELINE, 'fraud', LONGEST_EPOCH);

  it('is a candidate whose name the consumer has, shortened or not', () => {
    expect(pipelineNameOfConsumer(long, 'fraud', LONGEST_EPOCH.epoch, ['OrderedFanout', LONGEST_PIPELINE])).toBe(LONGEST_PIPELINE);
    const short = streamConsumerName('Platform', 'fraud', EPOCH);
    expect(pipelineNameOfConsumer(short, 'fraud', EPOCH.epoch, ['Platform'])).toBe('Platform');
    // A whole name of exactly 128 characters is told by its candidate (read off alone, its start could be shortened).
    const at128 = `P${'a'.repeat(88)}`;
    expect(streamConsumerName(at128, 'fraud', EPOCH)).toHaveLength(128);
    expect(pipelineNameOfConsumer(streamConsumerName(at128, 'fraud', EPOCH), 'fraud', EPOCH.epoch, [at128])).toBe(at128);
    expect(pipelineNameOfConsumer(streamConsumerName(at128, 'fraud', EPOCH), 'fraud', EPOCH.epoch)).toBeUndefined();
  });

  it('is not a candidate that was shortened to the same start, nor one of another destination or epoch', () => {
    const sameStart = `${LONGEST_PIPELINE.slice(0, -1)}q`;
    expect(pipelineNameOfConsumer(long, 'fraud', LONGEST_EPOCH.epoch, [sameStart])).toBeUndefined();
    expect(pipelineNameOfConsumer(long, 'audit', LONGEST_EPOCH.epoch, [LONGEST_PIPELINE])).toBeUndefined();
    expect(pipelineNameOfConsumer(long, 'fraud', 'live', [LONGEST_PIPELINE])).toBeUndefined();
    expect(pipelineNameOfConsumer(long.slice(0, -1), 'fraud', LONGEST_EPOCH.epoch, [LONGEST_PIPELINE])).toBeUndefined();
  });

  it('is unknown for a shortened name without its candidate (its start is not the whole pipeline name)', () => {
    expect(pipelineNameOfConsumer(long, 'fraud', LONGEST_EPOCH.epoch)).toBeUndefined();
    expect(pipelineNameOfConsumer(long, 'fraud', LONGEST_EPOCH.epoch, ['OrderedFanout'])).toBeUndefined();
  });
});
