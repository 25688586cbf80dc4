import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { PipelineConfigError, type DestinationName } from '../../infra/config/pipeline-config';
import { synth } from './synth';
import { mappingIdsOf, versionOf } from './mappings';

/** Search replays from 1 November 2026 under a new ledger epoch; audit and fraud stay on `live`. */
const EPOCH = 'replay-2026-11-01';
const FROM = '2026-11-01T00:00:00Z';
const FROM_SECONDS = 1_793_491_200;
const REPLAY = { destinations: { search: { epoch: EPOCH, startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: FROM } } };

let live: Template;
let replay: Template;

beforeAll(() => {
  live = synth().template;
  replay = synth(REPLAY).template;
});

/** A destination's function, its event source mapping and the stream consumer that mapping reads, by logical id. */
function idsOf(template: Template, destination: DestinationName) {
  const functions = Object.keys(
    template.findResources('AWS::Lambda::Function', { Properties: { Description: `ordered-fanout ${destination} consumer` } }),
  );
  expect(functions).toHaveLength(1);
  const fn = functions[0]!;
  const mappings = mappingIdsOf(template, fn);
  expect(mappings).toHaveLength(1);
  const mapping = mappings[0]!;
  const resources = template.toJSON().Resources;
  const source = resources[mapping].Properties.EventSourceArn;
  expect(source).toEqual({ 'Fn::GetAtt': [expect.any(String), 'ConsumerARN'] });
  const consumer: string = source['Fn::GetAtt'][0];
  expect(resources[consumer].Type).toBe('AWS::Kinesis::StreamConsumer');
  return { fn, mapping, consumer };
}

const logicalIds = (template: Template): string[] => Object.keys(template.toJSON().Resources);
const propertiesOf = (template: Template, id: string) => template.toJSON().Resources[id].Properties;

describe('replaying search under a new epoch', () => {
  it('replaces the search stream consumer and event source mapping (new logical ids; the old ones are gone)', () => {
    const before = idsOf(live, 'search');
    const after = idsOf(replay, 'search');
    expect(after.consumer).not.toBe(before.consumer);
    expect(after.mapping).not.toBe(before.mapping);
    expect(logicalIds(replay)).not.toContain(before.consumer);
    expect(logicalIds(replay)).not.toContain(before.mapping);
    expect(logicalIds(live)).not.toContain(after.consumer);
    expect(logicalIds(live)).not.toContain(after.mapping);
    replay.resourceCountIs('AWS::Kinesis::StreamConsumer', 3);
    replay.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
  });

  it('keeps the search function itself (same logical id): only its consumer and mapping are replaced', () => {
    expect(idsOf(replay, 'search').fn).toBe(idsOf(live, 'search').fn);
  });

  it.each(['audit', 'fraud'] as const)('leaves the logical ids of %s unchanged', (name) => {
    expect(idsOf(replay, name)).toEqual(idsOf(live, name));
    expect(propertiesOf(replay, idsOf(replay, name).mapping)).toEqual(propertiesOf(live, idsOf(live, name).mapping));
  });

  it('starts the new mapping AT_TIMESTAMP, the timestamp in seconds', () => {
    const { mapping, consumer } = idsOf(replay, 'search');
    expect(propertiesOf(replay, mapping)).toMatchObject({
      StartingPosition: 'AT_TIMESTAMP',
      StartingPositionTimestamp: FROM_SECONDS,
      EventSourceArn: { 'Fn::GetAtt': [consumer, 'ConsumerARN'] },
      Enabled: true,
    });
    expect(FROM_SECONDS).toBe(Date.parse(FROM) / 1000);
    expect(propertiesOf(live, idsOf(live, 'search').mapping).StartingPositionTimestamp).toBeUndefined();
  });

  it('keeps records of any age in both mappings by default (Lambda checks age before it invokes)', () => {
    expect(propertiesOf(replay, idsOf(replay, 'search').mapping).MaximumRecordAgeInSeconds).toBeUndefined();
    expect(propertiesOf(live, idsOf(live, 'search').mapping).MaximumRecordAgeInSeconds).toBeUndefined();
  });

  it('names the new stream consumer after the epoch', () => {
    const { consumer } = idsOf(replay, 'search');
    expect(propertiesOf(replay, consumer).ConsumerName).toContain(EPOCH);
    expect(propertiesOf(replay, consumer).ConsumerName).toContain('search');
    expect(propertiesOf(live, idsOf(live, 'search').consumer).ConsumerName).not.toContain(EPOCH);
  });

  it('gives the search function the new LEDGER_EPOCH, and the others the live one', () => {
    expect(propertiesOf(replay, idsOf(replay, 'search').fn).Environment.Variables.LEDGER_EPOCH).toBe(EPOCH);
    expect(propertiesOf(replay, idsOf(replay, 'audit').fn).Environment.Variables.LEDGER_EPOCH).toBe('live');
    expect(propertiesOf(replay, idsOf(replay, 'fraud').fn).Environment.Variables.LEDGER_EPOCH).toBe('live');
  });

  it('reports the epoch and starting position in the outputs', () => {
    replay.hasOutput('SearchEpoch', { Value: EPOCH });
    replay.hasOutput('SearchStartingPosition', { Value: `AT_TIMESTAMP ${FROM}` });
    replay.hasOutput('AuditEpoch', { Value: 'live' });
  });

  it("grants the search role the new stream consumer and not the old one's", () => {
    const { consumer } = idsOf(replay, 'search');
    const old = idsOf(live, 'search').consumer;
    const policies = JSON.stringify(replay.findResources('AWS::IAM::Policy'));
    expect(policies).toContain(`"${consumer}","ConsumerARN"`);
    expect(policies).not.toContain(old);
  });
});

describe('configuration errors', () => {
  it('fails synthesis with a PipelineConfigError naming destinations.search.batchSize', () => {
    let caught: unknown;
    try {
      synth({ destinations: { search: { batchSize: 0 } } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PipelineConfigError);
    expect((caught as PipelineConfigError).path).toBe('destinations.search.batchSize');
    expect((caught as PipelineConfigError).message).toMatch(/^destinations\.search\.batchSize: must be an integer between 1 and 10000, got 0/);
  });

  it('fails synthesis on AT_TIMESTAMP without a timestamp, naming the missing value', () => {
    expect(() => synth({ destinations: { search: { epoch: EPOCH, startingPosition: 'AT_TIMESTAMP' } } })).toThrow(
      /destinations\.search\.startingPositionTimestamp: is required/,
    );
  });

  it('fails synthesis on an epoch that cannot be part of a ledger key', () => {
    expect(() => synth({ destinations: { fraud: { epoch: 'replay#1' } } })).toThrow(PipelineConfigError);
    expect(() => synth({ destinations: { fraud: { epoch: 'replay#1' } } })).toThrow(/destinations\.fraud\.epoch/);
  });
});

describe('each epoch a generation: its own published version, its own mapping', () => {
  const envOf = (template: Template, name: DestinationName): Record<string, unknown> =>
    propertiesOf(template, idsOf(template, name).fn).Environment.Variables;

  it.each(['audit', 'search', 'fraud'] as const)('%s: the mapping invokes a published version of its own function', (name) => {
    for (const template of [live, replay]) {
      const { fn, mapping } = idsOf(template, name);
      const version = versionOf(template, mapping);
      expect(template.toJSON().Resources[version]).toMatchObject({ Type: 'AWS::Lambda::Version', Properties: { FunctionName: { Ref: fn } } });
    }
  });

  it('publishes a new search version for the replay, so the old mapping keeps the old version until both are deleted', () => {
    const before = versionOf(live, idsOf(live, 'search').mapping);
    const after = versionOf(replay, idsOf(replay, 'search').mapping);
    expect(after).not.toBe(before);
    // The old version leaves the template with the old mapping: CloudFormation deletes both in its clean-up, after the
    // new ones exist, and the mapping (which references the version) goes first.
    expect(logicalIds(replay)).not.toContain(before);
  });

  it.each(['audit', 'fraud'] as const)('leaves the %s version (and so its running generation) untouched', (name) => {
    expect(versionOf(replay, idsOf(replay, name).mapping)).toBe(versionOf(live, idsOf(live, name).mapping));
  });

  it('differs from the live generation only in the epoch and the replay window', () => {
    const before = envOf(live, 'search');
    const after = envOf(replay, 'search');
    const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
      (key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]),
    );
    expect(changed.sort()).toEqual(['EPOCH_REPLAY_FROM', 'LEDGER_EPOCH']);
    expect(after).toMatchObject({ LEDGER_EPOCH: EPOCH, EPOCH_REPLAY_FROM: FROM });
    const { mapping: liveMapping } = idsOf(live, 'search');
    const { mapping: replayMapping } = idsOf(replay, 'search');
    const mappingChanges = Object.keys({ ...propertiesOf(live, liveMapping), ...propertiesOf(replay, replayMapping) }).filter(
      (key) => JSON.stringify(propertiesOf(live, liveMapping)[key]) !== JSON.stringify(propertiesOf(replay, replayMapping)[key]),
    );
    expect(mappingChanges.sort()).toEqual(['EventSourceArn', 'FunctionName', 'StartingPosition', 'StartingPositionTimestamp']);
  });
});
