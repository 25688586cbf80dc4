import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_PIPELINE_CONFIG } from '../../infra/config/defaults';
import { parsePipelineConfig, readPipelineConfig } from '../../infra/config/load-config';
import { PipelineConfigError, type PipelineConfig } from '../../infra/config/pipeline-config';

const SOURCE = 'test fixture';

/** Parses `raw` and returns the PipelineConfigError it throws. */
function failure(raw: unknown, source = SOURCE): PipelineConfigError {
  try {
    parsePipelineConfig(raw, source);
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineConfigError);
    return error as PipelineConfigError;
  }
  throw new Error(`parsePipelineConfig accepted ${JSON.stringify(raw)}`);
}

function failureOf(read: () => unknown): PipelineConfigError {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineConfigError);
    return error as PipelineConfigError;
  }
  throw new Error('no error was thrown');
}

const search = (settings: Record<string, unknown>) => ({ destinations: { search: settings } });
const audit = (settings: Record<string, unknown>) => ({ destinations: { audit: settings } });
const fraud = (settings: Record<string, unknown>) => ({ destinations: { fraud: settings } });

const DESTINATION_DEFAULTS = {
  enabled: true,
  batchSize: 100,
  maxBatchingWindowSeconds: 0,
  parallelizationFactor: 1,
  retryAttempts: 10,
  maxRecordAgeSeconds: -1,
  memorySize: 512,
  timeoutSeconds: 120,
  delivery: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 5_000 },
  maxGapAgeSeconds: 900,
  startingPosition: 'TRIM_HORIZON',
  epoch: 'live',
  alarms: { iteratorAgeMs: 60_000, errors: 1, throttles: 1, deadLetters: 1, oldestParkedAgeSeconds: 900, parkedTooLong: 1, evaluationPeriods: 3 },
};

describe('defaults', () => {
  it('holds every default of the doc comments', () => {
    expect(DEFAULT_PIPELINE_CONFIG).toStrictEqual({
      alarmEmails: [],
      accountsTable: { billingMode: 'PAY_PER_REQUEST', readCapacity: 5, writeCapacity: 5 },
      stream: { mode: 'ON_DEMAND', shardCount: 2, retentionHours: 8_760 },
      destinations: {
        audit: { ...DESTINATION_DEFAULTS, objectLockDays: 2_555, transitionDays: 90 },
        search: { ...DESTINATION_DEFAULTS, index: 'accounts', dataNodes: 2, instanceType: 't3.small.search', masterNodes: 0, masterInstanceType: 'm6g.large.search' },
        fraud: { ...DESTINATION_DEFAULTS, archiveRetentionDays: 365 },
      },
    });
  });

  it.each([undefined, {}])('parses %s to the defaults, deeply frozen', (raw) => {
    const config = parsePipelineConfig(raw, SOURCE);
    expect(config).toStrictEqual(DEFAULT_PIPELINE_CONFIG);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.alarmEmails)).toBe(true);
    expect(Object.isFrozen(config.destinations.search.delivery)).toBe(true);
    expect(() => {
      (config.destinations.audit.alarms as { errors: number }).errors = 5;
    }).toThrow(TypeError);
  });
});

describe('parsePipelineConfig: merging', () => {
  it('merges a deep partial override field by field, per destination', () => {
    const raw = {
      alarmEmails: ['ops@example.com', 'oncall+fanout@pay.example.co.uk'],
      stream: { mode: 'PROVISIONED', shardCount: 4 },
      destinations: {
        search: { batchSize: 500, delivery: { maxAttempts: 3 }, alarms: { errors: 5 }, domainEndpoint: 'https://search-a.example.com', domainArn: 'arn:aws:es:eu-west-1:123456789012:domain/accounts' },
        fraud: { enabled: false, startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: '2024-02-29T12:30:00.123+10:00', epoch: 'replay-2024.02_b' },
      },
    };
    const copy = structuredClone(raw);
    const config: PipelineConfig = parsePipelineConfig(raw, SOURCE);

    expect(config.alarmEmails).toEqual(raw.alarmEmails);
    expect(config.stream).toEqual({ mode: 'PROVISIONED', shardCount: 4, retentionHours: 8_760 });
    expect(config.accountsTable).toEqual(DEFAULT_PIPELINE_CONFIG.accountsTable);
    expect(config.destinations.search).toStrictEqual({
      ...DEFAULT_PIPELINE_CONFIG.destinations.search,
      batchSize: 500,
      delivery: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 5_000 },
      alarms: { ...DEFAULT_PIPELINE_CONFIG.destinations.search.alarms, errors: 5 },
      domainEndpoint: 'https://search-a.example.com',
      domainArn: 'arn:aws:es:eu-west-1:123456789012:domain/accounts',
    });
    expect(config.destinations.fraud).toMatchObject({ enabled: false, startingPosition: 'AT_TIMESTAMP', epoch: 'replay-2024.02_b', batchSize: 100 });
    expect(config.destinations.audit).toStrictEqual(DEFAULT_PIPELINE_CONFIG.destinations.audit);
    expect(raw).toStrictEqual(copy);
    expect(DEFAULT_PIPELINE_CONFIG.destinations.search.batchSize).toBe(100);
  });

  it.each([
    ['an imported bucket', audit({ bucketArn: 'arn:aws-cn:s3:::audit.bucket-1' })],
    ['an imported event bus', fraud({ eventBusArn: 'arn:aws-us-gov:events:us-gov-west-1:123456789012:event-bus/fraud/main' })],
    ['archive retention 0 (keep forever)', fraud({ archiveRetentionDays: 0 })],
    ['a 63-character epoch', search({ epoch: `e${'x'.repeat(62)}` })],
    ['the shortest timeout that fits reserve plus one backoff', search({ timeoutSeconds: 10, delivery: { maxDelayMs: 6_999 } })],
    ['equal base and maximum delays', search({ delivery: { baseDelayMs: 5_000, maxDelayMs: 5_000 } })],
  ])('accepts %s', (_, raw) => {
    expect(() => parsePipelineConfig(raw, SOURCE)).not.toThrow();
  });
});

describe('parsePipelineConfig: validation', () => {
  it('names the path, the expectation, the given value and the source', () => {
    const error = failure(search({ batchSize: 0 }), 'cdk.json context "ordered-fanout"');
    expect(error.path).toBe('destinations.search.batchSize');
    expect(error.message).toBe(
      'destinations.search.batchSize: must be an integer between 1 and 10000, got 0 (from cdk.json context "ordered-fanout")',
    );
  });

  it('suggests the setting an unknown key was meant as', () => {
    const error = failure(search({ batchsize: 10 }));
    expect(error.path).toBe('destinations.search.batchsize');
    expect(error.message).toBe('destinations.search.batchsize: unknown setting; did you mean batchSize? (from test fixture)');
  });

  it.each<[string, unknown, string, string]>([
    ['an unknown top-level key', { alarmEmail: [] }, 'alarmEmail', 'did you mean alarmEmails?'],
    ['a misspelt alarm', search({ alarms: { iteratorAge: 5 } }), 'destinations.search.alarms.iteratorAge', 'did you mean iteratorAgeMs?'],
    ['a key far from any', { zzz: 1 }, 'zzz', 'unknown setting; expected one of alarmEmails, accountsTable, stream, destinations'],
    ['an unknown destination', { destinations: { ledger: {} } }, 'destinations.ledger', 'unknown setting'],
    ["another destination's setting", audit({ domainArn: 'arn:aws:es:eu-west-1:123456789012:domain/accounts' }), 'destinations.audit.domainArn', 'unknown setting'],
    ['a non-object root', 'batchSize=1', '(root)', 'must be an object, got "batchSize=1"'],
    ['a null root', null, '(root)', 'must be an object, got null'],
    ['an array for an object', { destinations: [] }, 'destinations', 'must be an object, got an array'],
    ['a string for an integer', search({ batchSize: '100' }), 'destinations.search.batchSize', 'must be an integer between 1 and 10000, got "100"'],
    ['a fraction', audit({ memorySize: 512.5 }), 'destinations.audit.memorySize', 'must be an integer between 128 and 10240, got 512.5'],
    ['a batch too large', search({ batchSize: 10_001 }), 'destinations.search.batchSize', 'got 10001'],
    ['a batching window too long', fraud({ maxBatchingWindowSeconds: 301 }), 'destinations.fraud.maxBatchingWindowSeconds', 'between 0 and 300'],
    ['a parallelization factor of 11', fraud({ parallelizationFactor: 11 }), 'destinations.fraud.parallelizationFactor', 'between 1 and 10'],
    ['no reserved concurrency', audit({ reservedConcurrency: 0 }), 'destinations.audit.reservedConcurrency', 'between 1 and 100000'],
    ['negative retry attempts', audit({ retryAttempts: -1 }), 'destinations.audit.retryAttempts', 'between 0 and 10000'],
    ['a record age under a minute', audit({ maxRecordAgeSeconds: 59 }), 'destinations.audit.maxRecordAgeSeconds', 'between 60 and 604800'],
    ['a timeout under 10 s', search({ timeoutSeconds: 9 }), 'destinations.search.timeoutSeconds', 'between 10 and 900, got 9'],
    ['zero delivery attempts', search({ delivery: { maxAttempts: 0 } }), 'destinations.search.delivery.maxAttempts', 'between 1 and 100'],
    ['a zero gap age', search({ maxGapAgeSeconds: 0 }), 'destinations.search.maxGapAgeSeconds', 'between 1 and 31622400'],
    ['zero evaluation periods', fraud({ alarms: { evaluationPeriods: 0 } }), 'destinations.fraud.alarms.evaluationPeriods', 'between 1 and 1440'],
    ['a zero alarm threshold', fraud({ alarms: { deadLetters: 0 } }), 'destinations.fraud.alarms.deadLetters', 'between 1 and 1000000'],
    ['a non-boolean', fraud({ enabled: 'yes' }), 'destinations.fraud.enabled', 'must be true or false, got "yes"'],
    ['object lock over 100 years', audit({ objectLockDays: 36_501 }), 'destinations.audit.objectLockDays', 'between 1 and 36500'],
    ['no transition days', audit({ transitionDays: 0 }), 'destinations.audit.transitionDays', 'between 1 and 3650'],
    ['eleven data nodes', search({ dataNodes: 11 }), 'destinations.search.dataNodes', 'between 1 and 10'],
    ['a negative archive retention', fraud({ archiveRetentionDays: -1 }), 'destinations.fraud.archiveRetentionDays', 'between 0 and 3650 (0: keep forever), got -1'],
    ['read capacity 0', { accountsTable: { readCapacity: 0 } }, 'accountsTable.readCapacity', 'between 1 and 40000'],
    ['write capacity 40001', { accountsTable: { writeCapacity: 40_001 } }, 'accountsTable.writeCapacity', 'between 1 and 40000'],
    ['501 shards', { stream: { shardCount: 501 } }, 'stream.shardCount', 'between 1 and 500'],
    ['retention under a day', { stream: { retentionHours: 23 } }, 'stream.retentionHours', 'between 24 and 8760'],
    ['an unknown billing mode', { accountsTable: { billingMode: 'ON_DEMAND' } }, 'accountsTable.billingMode', 'must be one of "PAY_PER_REQUEST", "PROVISIONED", got "ON_DEMAND"'],
    ['an unknown stream mode', { stream: { mode: 'on_demand' } }, 'stream.mode', 'must be one of "ON_DEMAND", "PROVISIONED"'],
    ['an unknown starting position', search({ startingPosition: 'trim_horizon' }), 'destinations.search.startingPosition', 'must be one of "LATEST", "TRIM_HORIZON", "AT_TIMESTAMP", got "trim_horizon"'],
    ['AT_TIMESTAMP without a time', search({ startingPosition: 'AT_TIMESTAMP' }), 'destinations.search.startingPositionTimestamp', 'is required when startingPosition is "AT_TIMESTAMP", got nothing'],
    ['a time without AT_TIMESTAMP', audit({ startingPositionTimestamp: '2025-01-31T12:00:00Z' }), 'destinations.audit.startingPositionTimestamp', 'is only allowed when startingPosition is "AT_TIMESTAMP", got "2025-01-31T12:00:00Z" with "TRIM_HORIZON"'],
    ['a time with LATEST', audit({ startingPosition: 'LATEST', startingPositionTimestamp: '2025-01-31T12:00:00Z' }), 'destinations.audit.startingPositionTimestamp', 'with "LATEST"'],
    ['a time that is no time', fraud({ startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: 'yesterday' }), 'destinations.fraud.startingPositionTimestamp', 'must be an ISO 8601 time with a time zone'],
    ['February 30th', fraud({ startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: '2024-02-30T00:00:00Z' }), 'destinations.fraud.startingPositionTimestamp', 'got "2024-02-30T00:00:00Z"'],
    ['a date without a time', fraud({ startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: '2024-01-01' }), 'destinations.fraud.startingPositionTimestamp', 'ISO 8601'],
    ['a time without a zone', fraud({ startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: '2024-01-01T00:00:00' }), 'destinations.fraud.startingPositionTimestamp', 'ISO 8601'],
    ['hour 24', fraud({ startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: '2024-01-01T24:00:00Z' }), 'destinations.fraud.startingPositionTimestamp', 'ISO 8601'],
    ['a numeric time', fraud({ startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: 1_700_000_000 }), 'destinations.fraud.startingPositionTimestamp', 'got 1700000000'],
    ['an epoch with #', search({ epoch: 'a#b' }), 'destinations.search.epoch', `must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit, got "a#b"`],
    ['an epoch starting with -', search({ epoch: '-live' }), 'destinations.search.epoch', 'got "-live"'],
    ['an empty epoch', search({ epoch: '' }), 'destinations.search.epoch', 'got ""'],
    ['a 64-character epoch', search({ epoch: 'e'.repeat(64) }), 'destinations.search.epoch', 'must be 1-63'],
    ['emails as a string', { alarmEmails: 'ops@example.com' }, 'alarmEmails', 'must be an array of email addresses, got "ops@example.com"'],
    ['an implausible email', { alarmEmails: ['ops@example.com', 'ops'] }, 'alarmEmails[1]', 'must be an email address, got "ops"'],
    ['an email without a domain dot', { alarmEmails: ['ops@localhost'] }, 'alarmEmails[0]', 'must be an email address'],
    ['an email with a space', { alarmEmails: ['o ps@example.com'] }, 'alarmEmails[0]', 'must be an email address'],
    ['a number for an email', { alarmEmails: [42] }, 'alarmEmails[0]', 'got 42'],
    ['a repeated email', { alarmEmails: ['a@example.com', 'b@example.com', 'a@example.com'] }, 'alarmEmails[2]', 'must not repeat alarmEmails[0]'],
    ['a bucket name for a bucket ARN', audit({ bucketArn: 'audit-bucket' }), 'destinations.audit.bucketArn', 'must be an S3 bucket ARN, arn:<partition>:s3:::<bucket>, got "audit-bucket"'],
    ['a bucket ARN with a region', audit({ bucketArn: 'arn:aws:s3:us-east-1::audit-bucket' }), 'destinations.audit.bucketArn', 'S3 bucket ARN'],
    ['an invalid bucket name', audit({ bucketArn: 'arn:aws:s3:::Audit_Bucket' }), 'destinations.audit.bucketArn', 'S3 bucket ARN'],
    ['an object ARN', audit({ bucketArn: 'arn:aws:s3:::audit-bucket/changes' }), 'destinations.audit.bucketArn', 'S3 bucket ARN'],
    ['a bus name for a bus ARN', fraud({ eventBusArn: 'fraud-bus' }), 'destinations.fraud.eventBusArn', 'must be an event bus ARN, arn:<partition>:events:<region>:<account>:event-bus/<name>'],
    ['a short account', fraud({ eventBusArn: 'arn:aws:events:us-east-1:1234:event-bus/fraud' }), 'destinations.fraud.eventBusArn', 'event bus ARN'],
    ['a rule ARN', fraud({ eventBusArn: 'arn:aws:events:us-east-1:123456789012:rule/fraud' }), 'destinations.fraud.eventBusArn', 'event bus ARN'],
    ['an http endpoint', search({ domainEndpoint: 'http://search.example.com', domainArn: 'arn:aws:es:eu-west-1:123456789012:domain/accounts' }), 'destinations.search.domainEndpoint', 'must be an https:// URL without path, query or credentials, got "http://search.example.com"'],
    ['an endpoint without scheme', search({ domainEndpoint: 'search.example.com' }), 'destinations.search.domainEndpoint', 'https://'],
    ['an endpoint with a path', search({ domainEndpoint: 'https://search.example.com/accounts' }), 'destinations.search.domainEndpoint', 'https://'],
    ['an endpoint with credentials', search({ domainEndpoint: 'https://u:p@search.example.com' }), 'destinations.search.domainEndpoint', 'https://'],
    ['an invalid domain ARN', search({ domainArn: 'arn:aws:es:eu-west-1:123456789012:domain/Accounts' }), 'destinations.search.domainArn', 'must be an OpenSearch domain ARN'],
    ['a collection ARN', search({ domainArn: 'arn:aws:aoss:eu-west-1:123456789012:collection/abc' }), 'destinations.search.domainArn', 'OpenSearch domain ARN'],
    ['an endpoint without its ARN', search({ domainEndpoint: 'https://search.example.com' }), 'destinations.search.domainArn', 'is required with domainEndpoint (both or neither), got nothing'],
    ['an ARN without its endpoint', search({ domainArn: 'arn:aws:es:eu-west-1:123456789012:domain/accounts' }), 'destinations.search.domainEndpoint', 'is required with domainArn (both or neither), got nothing'],
    ['an upper-case index', search({ index: 'Accounts' }), 'destinations.search.index', 'must be an OpenSearch index name'],
    ['an index starting with _', search({ index: '_accounts' }), 'destinations.search.index', 'OpenSearch index name'],
    ['an instance type without .search', search({ instanceType: 't3.small' }), 'destinations.search.instanceType', 'must be an OpenSearch instance type'],
    ['maxDelayMs below baseDelayMs', search({ delivery: { baseDelayMs: 2_000, maxDelayMs: 1_000 } }), 'destinations.search.delivery.maxDelayMs', 'must be at least delivery.baseDelayMs (2000), got 1000'],
    ['baseDelayMs above the default maxDelayMs', audit({ delivery: { baseDelayMs: 6_000 } }), 'destinations.audit.delivery.maxDelayMs', 'must be at least delivery.baseDelayMs (6000), got 5000'],
    ['a timeout within reserve plus one backoff', fraud({ timeoutSeconds: 10, delivery: { maxDelayMs: 7_000 } }), 'destinations.fraud.timeoutSeconds', "must exceed the consumer's 3 s retry reserve plus one delivery.maxDelayMs backoff (7000 ms), i.e. be at least 11, got 10"],
    ['the default timeout with the longest backoff', fraud({ delivery: { maxDelayMs: 300_000 } }), 'destinations.fraud.timeoutSeconds', 'be at least 304, got 120'],
  ])('refuses %s', (_, raw, path, expected) => {
    const error = failure(raw);
    expect(error.path).toBe(path);
    expect(error.message.startsWith(`${path}: `)).toBe(true);
    expect(error.message).toContain(expected);
    expect(error.message.endsWith(`(from ${SOURCE})`)).toBe(true);
  });
});

describe('readPipelineConfig', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'pipeline-config-'));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    rmSync(directory, { recursive: true, force: true });
  });

  it('gives the defaults when no context is set', () => {
    // In a directory without pipeline.json (a clone's root may hold one that fanout replay --apply wrote).
    vi.spyOn(process, 'cwd').mockReturnValue(directory);
    expect(readPipelineConfig(new App())).toStrictEqual(DEFAULT_PIPELINE_CONFIG);
  });

  it('reads an object from the "ordered-fanout" context, from any construct in the app', () => {
    const app = new App({ context: { 'ordered-fanout': fraud({ batchSize: 7, alarms: { errors: 2 } }) } });
    const config = readPipelineConfig(new Stack(app, 'Pipeline'));
    expect(config.destinations.fraud.batchSize).toBe(7);
    expect(config.destinations.fraud.alarms).toEqual({ ...DEFAULT_PIPELINE_CONFIG.destinations.fraud.alarms, errors: 2 });
    expect(Object.isFrozen(config.destinations.fraud)).toBe(true);
  });

  it('reads a JSON string from the context, as `cdk synth -c` passes it', () => {
    const app = new App({ context: { 'ordered-fanout': JSON.stringify({ alarmEmails: ['ops@example.com'], stream: { retentionHours: 48 } }) } });
    const config = readPipelineConfig(app);
    expect(config.alarmEmails).toEqual(['ops@example.com']);
    expect(config.stream.retentionHours).toBe(48);
  });

  it('names the context in errors from it', () => {
    const error = failureOf(() => readPipelineConfig(new App({ context: { 'ordered-fanout': search({ batchSize: 0 }) } })));
    expect(error.path).toBe('destinations.search.batchSize');
    expect(error.message).toContain('(from CDK context "ordered-fanout")');
  });

  it('refuses a context string that is not JSON', () => {
    const error = failureOf(() => readPipelineConfig(new App({ context: { 'ordered-fanout': '{batchSize: 1}' } })));
    expect(error.path).toBe('(root)');
    expect(error.message).toMatch(/must be valid JSON, got "\{batchSize: 1\}" .*\(from CDK context "ordered-fanout"\)$/);
  });

  it('reads the file named by "ordered-fanout:config-file", relative to the working directory', () => {
    writeFileSync(join(directory, 'pipeline.json'), JSON.stringify(audit({ objectLockDays: 30, epoch: 'v2' })));
    vi.spyOn(process, 'cwd').mockReturnValue(directory);
    const config = readPipelineConfig(new App({ context: { 'ordered-fanout:config-file': 'pipeline.json' } }));
    expect(config.destinations.audit).toMatchObject({ objectLockDays: 30, epoch: 'v2', transitionDays: 90 });
  });

  it('names the file in errors from it', () => {
    const file = join(directory, 'bad.json');
    writeFileSync(file, JSON.stringify(audit({ transitionDays: 0 })));
    const error = failureOf(() => readPipelineConfig(new App({ context: { 'ordered-fanout:config-file': file } })));
    expect(error.path).toBe('destinations.audit.transitionDays');
    expect(error.message).toContain(`(from config file "${file}", named by CDK context "ordered-fanout:config-file")`);
  });

  it('refuses a file that is missing or not JSON', () => {
    const missing = failureOf(() => readPipelineConfig(new App({ context: { 'ordered-fanout:config-file': join(directory, 'none.json') } })));
    expect(missing.path).toBe('ordered-fanout:config-file');
    expect(missing.message).toContain('must name a readable file');
    writeFileSync(join(directory, 'broken.json'), '{"stream": ');
    const broken = failureOf(() => readPipelineConfig(new App({ context: { 'ordered-fanout:config-file': join(directory, 'broken.json') } })));
    expect(broken.path).toBe('(root)');
    expect(broken.message).toContain('must be valid JSON');
  });

  it('reads pipeline.json of the working directory when no context names a configuration, as fanout replay --apply writes it', () => {
    // A plain `cdk deploy` after a replay must keep the replay's epoch, not quietly go back to the defaults.
    writeFileSync(join(directory, 'pipeline.json'), JSON.stringify(search({ epoch: 'replay-1', startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: '2026-11-01T00:00:00Z', maxRecordAgeSeconds: -1 })));
    vi.spyOn(process, 'cwd').mockReturnValue(directory);
    expect(readPipelineConfig(new App()).destinations.search.epoch).toBe('replay-1');
    // A context still decides when it is set.
    expect(readPipelineConfig(new App({ context: { 'ordered-fanout': {} } })).destinations.search.epoch).toBe('live');
    writeFileSync(join(directory, 'pipeline.json'), JSON.stringify(search({ batchSize: 0 })));
    expect(failureOf(() => readPipelineConfig(new App())).message).toContain('pipeline.json", read because no context names a configuration');
  });

  it('refuses both the context and a config file', () => {
    writeFileSync(join(directory, 'pipeline.json'), '{}');
    const app = new App({ context: { 'ordered-fanout': {}, 'ordered-fanout:config-file': join(directory, 'pipeline.json') } });
    const error = failureOf(() => readPipelineConfig(app));
    expect(error.path).toBe('ordered-fanout:config-file');
    expect(error.message).toContain('must not be set together with context "ordered-fanout"');
    expect(error.message).toContain('got both');
  });
});
