import { describe, expect, it } from 'vitest';
import { parsePipelineConfig, searchZones } from '../../infra/config/load-config';
import { PipelineConfigError } from '../../infra/config/pipeline-config';
import { synth } from './synth';

/** Rules between settings that AWS enforces at deploy time: refused at synth time instead, naming the field. */

const NOW = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400;

function failure(raw: unknown): PipelineConfigError {
  try {
    parsePipelineConfig(raw, 'test', NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineConfigError);
    return error as PipelineConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

const search = (settings: Record<string, unknown>) => ({ destinations: { search: settings } });
const replayFrom = (daysAgo: number, maxRecordAgeSeconds: number) =>
  search({
    epoch: 'replay-1',
    startingPosition: 'AT_TIMESTAMP',
    startingPositionTimestamp: new Date(NOW - daysAgo * DAY * 1000).toISOString(),
    maxRecordAgeSeconds,
  });

describe('maximum record age (Lambda checks it before invoking)', () => {
  it('defaults to -1, no limit, for every destination', () => {
    const config = parsePipelineConfig({}, 'test', NOW);
    for (const settings of Object.values(config.destinations)) expect(settings.maxRecordAgeSeconds).toBe(-1);
  });

  it.each([0, 1, 59, -2])('refuses %s: Lambda takes -1 or 60-604800', (age) => {
    expect(failure(search({ maxRecordAgeSeconds: age })).path).toBe('destinations.search.maxRecordAgeSeconds');
  });

  it('refuses a replay from further back than the limit, and names the window', () => {
    const error = failure(replayFrom(10, 7 * DAY));
    expect(error.path).toBe('destinations.search.maxRecordAgeSeconds');
    expect(error.message).toContain('must cover the replay window');
    expect(error.message).toContain(`reaches ${10 * DAY} s back`);
  });

  it('takes a replay within the limit, and any replay with -1', () => {
    expect(parsePipelineConfig(replayFrom(3, 7 * DAY), 'test', NOW).destinations.search.maxRecordAgeSeconds).toBe(7 * DAY);
    expect(parsePipelineConfig(replayFrom(300, -1), 'test', NOW).destinations.search.maxRecordAgeSeconds).toBe(-1);
  });

  // Regression: the window was measured from now at every synth, so a routine deploy of the file `fanout replay`
  // wrote was refused once the replay's start had aged past the limit, although the mapping had long read it. It is
  // measured up to the time the replay was applied (`replayBefore`), as the deploy that created the mapping saw it.
  it('keeps taking a replay within the limit at later deploys: the window ends when the replay was applied', () => {
    const applied = { ...replayFrom(6, 7 * DAY).destinations.search, replayBefore: new Date(NOW).toISOString() };
    expect(parsePipelineConfig(search(applied), 'test', NOW).destinations.search.epoch).toBe('replay-1');
    expect(parsePipelineConfig(search(applied), 'test', NOW + 5 * DAY * 1000).destinations.search.epoch).toBe('replay-1');
    // Without replayBefore (written by hand), or one not yet reached, the window runs to now.
    expect(failure(replayFrom(8, 7 * DAY)).message).toContain(`reaches ${8 * DAY} s back`);
    const early = { ...replayFrom(8, 7 * DAY).destinations.search, replayBefore: new Date(NOW + DAY * 1000).toISOString() };
    expect(failure(search(early)).message).toContain(`reaches ${8 * DAY} s back`);
    const beyond = { ...replayFrom(8, 7 * DAY).destinations.search, replayBefore: new Date(NOW - DAY * 1000).toISOString() };
    expect(parsePipelineConfig(search(beyond), 'test', NOW).destinations.search.epoch).toBe('replay-1');
  });

  it("refuses a TRIM_HORIZON replay epoch whose limit is shorter than the stream's retention", () => {
    const error = failure(search({ epoch: 'replay-2', startingPosition: 'TRIM_HORIZON', maxRecordAgeSeconds: 7 * DAY }));
    expect(error.path).toBe('destinations.search.maxRecordAgeSeconds');
    expect(error.message).toContain(`${365 * DAY} s back`);
    const shortRetention = { stream: { retentionHours: 48 }, ...search({ epoch: 'replay-2', startingPosition: 'TRIM_HORIZON', maxRecordAgeSeconds: 7 * DAY }) };
    expect(parsePipelineConfig(shortRetention, 'test', NOW).destinations.search.epoch).toBe('replay-2');
  });

  it('lets the live epoch bound its records (pausing longer than that loses them to the on-failure bucket, as documented)', () => {
    expect(parsePipelineConfig(search({ maxRecordAgeSeconds: 3_600 }), 'test', NOW).destinations.search.maxRecordAgeSeconds).toBe(3_600);
  });
});

describe('search domain sizes OpenSearch accepts', () => {
  it.each([
    [1, 1],
    [2, 2],
    [3, 3],
    [4, 2],
    [6, 3],
    [8, 2],
    [9, 3],
    [10, 2],
    [5, undefined],
    [7, undefined],
  ])('%i data nodes spread over %s zones', (nodes, zones) => {
    expect(searchZones(nodes)).toBe(zones);
  });

  it.each([5, 7])('refuses %i data nodes, naming the field', (dataNodes) => {
    const error = failure(search({ dataNodes }));
    expect(error.path).toBe('destinations.search.dataNodes');
    expect(error.message).toContain('multiple of the availability zones');
  });

  it('leaves an imported domain to its owner: its sizes are not checked, and giving one is refused as ignored', () => {
    const domain = { domainEndpoint: 'https://search.example.com', domainArn: 'arn:aws:es:eu-west-1:123456789012:domain/accounts' };
    expect(parsePipelineConfig(search(domain), 'test', NOW).destinations.search.dataNodes).toBe(2);
    expect(failure(search({ ...domain, dataNodes: 5 })).path).toBe('destinations.search.dataNodes');
  });

  it("refuses an imported domain whose endpoint's region is not its ARN's (requests are signed for the ARN's)", () => {
    const arn = 'arn:aws:es:eu-west-1:123456789012:domain/accounts';
    const error = failure(search({ domainEndpoint: 'https://search-accounts-abc.us-east-1.es.amazonaws.com', domainArn: arn }));
    expect(error.path).toBe('destinations.search.domainArn');
    expect(error.message).toContain('us-east-1');
    expect(parsePipelineConfig(search({ domainEndpoint: 'https://search-accounts-abc.eu-west-1.es.amazonaws.com', domainArn: arn }), 'test', NOW).destinations.search.domainArn).toBe(arn);
    // A custom endpoint names no region: left to the owner.
    expect(parsePipelineConfig(search({ domainEndpoint: 'https://search.example.com', domainArn: arn }), 'test', NOW).destinations.search.domainArn).toBe(arn);
  });

  it.each([1, 2, 4])('refuses %i dedicated masters (a quorum needs 3 or 5)', (masterNodes) => {
    expect(failure(search({ masterNodes })).path).toBe('destinations.search.masterNodes');
  });

  it.each([
    ['instanceType', { instanceType: 't2.small.search' }],
    ['masterInstanceType', { masterNodes: 3, masterInstanceType: 't2.medium.search' }],
  ])('refuses a t2 %s (no encryption at rest)', (field, settings) => {
    expect(failure(search(settings)).path).toBe(`destinations.search.${field}`);
  });

  it('synthesizes 3 nodes over 3 zones, 3 dedicated masters, and no EBS volume on a local-storage type', () => {
    const { template } = synth({ destinations: { search: { dataNodes: 3, masterNodes: 3, instanceType: 'i3.large.search' } } });
    template.hasResourceProperties('AWS::OpenSearchService::Domain', {
      ClusterConfig: {
        InstanceCount: 3,
        InstanceType: 'i3.large.search',
        ZoneAwarenessEnabled: true,
        ZoneAwarenessConfig: { AvailabilityZoneCount: 3 },
        DedicatedMasterEnabled: true,
        DedicatedMasterCount: 3,
        DedicatedMasterType: 'm6g.large.search',
      },
      EBSOptions: { EBSEnabled: false },
    });
  });

  it('synthesizes a single node without zone awareness, with a gp3 volume', () => {
    const { template } = synth({ destinations: { search: { dataNodes: 1 } } });
    template.hasResourceProperties('AWS::OpenSearchService::Domain', {
      ClusterConfig: { InstanceCount: 1, ZoneAwarenessEnabled: false },
      EBSOptions: { EBSEnabled: true, VolumeType: 'gp3' },
    });
  });
});

describe('epochs that would not replay what they say', () => {
  it('refuses a case variant of "live": any other name is a replay epoch with a fresh ledger', () => {
    expect(failure(search({ epoch: 'Live' })).message).toContain('destinations.search.epoch: is written "live"');
  });

  it('refuses a replay epoch from LATEST, which replays nothing and waits for every account\'s earlier versions', () => {
    expect(failure(search({ epoch: 'replay-1', startingPosition: 'LATEST' })).message).toContain('destinations.search.startingPosition: must be "TRIM_HORIZON" or "AT_TIMESTAMP"');
    expect(parsePipelineConfig(search({ startingPosition: 'LATEST' }), 'test', NOW).destinations.search.startingPosition).toBe('LATEST');
  });

  it('refuses a start in the future', () => {
    const future = search({ epoch: 'replay-1', startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: new Date(NOW + 60_000).toISOString(), maxRecordAgeSeconds: -1 });
    expect(failure(future).message).toContain('startingPositionTimestamp: must not be in the future');
  });

  it('counts an index name in bytes, as OpenSearch does', () => {
    expect(failure(search({ index: 'é'.repeat(128) })).message).toContain('destinations.search.index');
    expect(parsePipelineConfig(search({ index: 'é'.repeat(127) }), 'test', NOW).destinations.search.index).toHaveLength(127);
  });
});

describe('reserved concurrency', () => {
  const provisioned = (reservedConcurrency: number, parallelizationFactor = 1) => ({
    stream: { mode: 'PROVISIONED', shardCount: 4 },
    destinations: { fraud: { reservedConcurrency, parallelizationFactor } },
  });

  it('refuses less than the mapping runs at once on a provisioned stream (shards × parallelizationFactor)', () => {
    expect(failure(provisioned(1)).message).toContain('destinations.fraud.reservedConcurrency: must be at least stream.shardCount × parallelizationFactor = 4 × 1 = 4');
    expect(failure(provisioned(39, 10)).message).toContain('= 40');
    expect(parsePipelineConfig(provisioned(40, 10), 'test', NOW).destinations.fraud.reservedConcurrency).toBe(40);
    // On demand, the shards vary: parsing accepts it; the construct, which knows the stream's mode, holds it to the 4 shards an on-demand stream starts with.
    expect(parsePipelineConfig({ destinations: { fraud: { reservedConcurrency: 1 } } }, 'test', NOW).destinations.fraud.reservedConcurrency).toBe(1);
  });
});

describe('settings that would be ignored', () => {
  it("refuses a created resource's settings next to an import of it", () => {
    const domain = { domainEndpoint: 'https://search.example.com', domainArn: 'arn:aws:es:eu-west-1:123456789012:domain/accounts' };
    expect(failure(search({ ...domain, dataNodes: 6 })).message).toContain('destinations.search.dataNodes: is a setting of a created search resource, ignored with domainArn');
    expect(failure({ destinations: { audit: { bucketArn: 'arn:aws:s3:::theirs', objectLockDays: 30 } } }).message).toContain('destinations.audit.objectLockDays');
    expect(failure({ destinations: { fraud: { eventBusArn: 'arn:aws:events:eu-west-1:123456789012:event-bus/theirs', archiveRetentionDays: 0 } } }).message).toContain(
      'destinations.fraud.archiveRetentionDays',
    );
    expect(parsePipelineConfig(search({ ...domain, index: 'accounts-v2' }), 'test', NOW).destinations.search.index).toBe('accounts-v2');
  });

  it("refuses the dedicated masters' type without dedicated masters", () => {
    expect(failure(search({ masterInstanceType: 'r6g.large.search' })).message).toContain('destinations.search.masterInstanceType: is only used with dedicated masters');
    expect(parsePipelineConfig(search({ masterNodes: 3, masterInstanceType: 'r6g.large.search' }), 'test', NOW).destinations.search.masterNodes).toBe(3);
  });
});
