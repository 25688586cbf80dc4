import { describe, expect, it, vi } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { buildRuntime } from '../../shared/consumer/runtime';
import { auditRuntime } from '../../consumers/audit/runtime';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { busClientConfig, fraudRuntime } from '../../consumers/fraud/runtime';
import { searchRuntime } from '../../consumers/search/runtime';
import { readConsumerConfig, type DestinationName } from '../../shared/config/consumer-config';
import { ConfigurationError, type Env } from '../../shared/config/env';
import { InMemoryLedger } from '../../shared/ledger/in-memory-ledger';

/** A built-in's own variables are read by its runtime half, as a plug-in's are (`buildPluginRuntime` reads both). */
const RUNTIMES = { audit: auditRuntime, search: searchRuntime, fraud: fraudRuntime };

const COMMON: Env = {
  ACCOUNTS_TABLE_NAME: 'Accounts',
  LEDGER_TABLE_NAME: 'FanoutLedger',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.ap-southeast-2.amazonaws.com/123456789012/audit-dlq',
};

const FULL: Record<DestinationName, Env> = {
  audit: { ...COMMON, AUDIT_BUCKET_NAME: 'audit-bucket' },
  search: { ...COMMON, SEARCH_ENDPOINT: 'https://search-accounts.ap-southeast-2.es.amazonaws.com' },
  fraud: { ...COMMON, FRAUD_EVENT_BUS_NAME: 'fraud-bus' },
};

/** Reads what the consumer reads (its configuration, then its own settings) and returns the ConfigurationError thrown. */
function failure(destination: DestinationName, env: Env): ConfigurationError {
  try {
    readConsumerConfig(destination, env);
    RUNTIMES[destination].readSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error(`readConsumerConfig accepted ${JSON.stringify(env)}`);
}

describe('readConsumerConfig: defaults', () => {
  it.each(['audit', 'search', 'fraud'] as const)('reads a complete %s environment with the documented defaults', (destination) => {
    const config = readConsumerConfig(destination, FULL[destination]);

    expect(config).toMatchObject({
      destination,
      region: 'us-east-1',
      accountsTable: 'Accounts',
      ledgerTable: 'FanoutLedger',
      deadLetterQueueUrl: COMMON.DEAD_LETTER_QUEUE_URL,
      epoch: { id: 'live', replay: false },
      maxGapAgeMs: 900_000,
      claimTtlMs: 60_000,
      inOrderCommit: 'per-batch',
      homeLanes: 'shard',
      parallelizationFactor: 1,
      destinationEnforced: false,
      accountConcurrency: 64,
      retry: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 5_000 },
      retryReserveMs: 3_000,
      s3ForcePathStyle: false,
    });
    expect(config.endpoints).toEqual({ dynamodb: undefined, sqs: undefined, s3: undefined, eventbridge: undefined });
    // No destination's own settings: its runtime half reads them, for a built-in as for a plug-in.
    for (const name of ['audit', 'search', 'fraud']) expect(config).not.toHaveProperty(name);
  });

  it('fills in each destination’s own defaults (its runtime half’s readSettings)', () => {
    expect(auditRuntime.readSettings(FULL.audit)).toEqual({ bucket: 'audit-bucket', prefix: 'changes/', forcePathStyle: false });
    expect(searchRuntime.readSettings(FULL.search)).toEqual({
      endpoint: 'https://search-accounts.ap-southeast-2.es.amazonaws.com',
      index: 'accounts',
      auth: 'sigv4',
      sigv4Service: 'es',
      bulkSize: 500,
      maxBulkBytes: 5_242_880,
    });
    expect(fraudRuntime.readSettings(FULL.fraud)).toEqual({ eventBusName: 'fraud-bus', source: 'ordered-fanout.accounts' });
  });

  it('a common configuration does not need a destination’s own variables (its runtime half does)', () => {
    expect(() => readConsumerConfig('audit', COMMON)).not.toThrow();
    expect(() => auditRuntime.readSettings(COMMON)).toThrow(ConfigurationError);
  });

  it('a non-live LEDGER_EPOCH defaults to a replay (from EPOCH_REPLAY_FROM when set), and the marker can be overridden', () => {
    expect(readConsumerConfig('audit', { ...FULL.audit, LEDGER_EPOCH: 'replay-2025-06-01' }).epoch).toEqual({
      id: 'replay-2025-06-01',
      replay: true,
    });
    const overridden = readConsumerConfig('audit', {
      ...FULL.audit,
      LEDGER_EPOCH: 'rebuild.2',
      EPOCH_REPLAY_FROM: '2025-06-01T00:00:00Z',
      EPOCH_REPLAY: 'false',
    });
    expect(overridden.epoch).toEqual({ id: 'rebuild.2', replay: false, from: Date.parse('2025-06-01T00:00:00Z') * 1000 });
    expect(readConsumerConfig('audit', { ...FULL.audit, LEDGER_EPOCH: 'live', EPOCH_REPLAY: '1' }).epoch.replay).toBe(true);
  });

  it('reads every tunable, converting seconds to milliseconds', () => {
    const env: Env = {
      ...FULL.search,
      AWS_REGION: 'ap-southeast-2',
      MAX_GAP_AGE_SECONDS: '60',
      CLAIM_TTL_SECONDS: '30',
      IN_ORDER_COMMIT: 'per-version',
      ACCOUNT_CONCURRENCY: '8',
      DELIVERY_MAX_ATTEMPTS: '3',
      DELIVERY_BASE_DELAY_MS: '50',
      DELIVERY_MAX_DELAY_MS: '800',
      RETRY_RESERVE_MS: '0',
      AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1:9324',
      S3_FORCE_PATH_STYLE: 'TRUE',
      SEARCH_INDEX: 'accounts-v2',
      SEARCH_AUTH: 'none',
      SEARCH_SIGV4_SERVICE: 'aoss',
      SEARCH_BULK_SIZE: ' 250 ',
      SEARCH_REGION: 'us-west-2',
    };
    expect(readConsumerConfig('search', env)).toMatchObject({
      region: 'ap-southeast-2',
      maxGapAgeMs: 60_000,
      claimTtlMs: 30_000,
      inOrderCommit: 'per-version',
      homeLanes: 'shard',
      parallelizationFactor: 1,
      destinationEnforced: false,
      accountConcurrency: 8,
      retry: { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 800 },
      retryReserveMs: 0,
      endpoints: { sqs: 'http://127.0.0.1:9324' },
      s3ForcePathStyle: true,
    });
    expect(searchRuntime.readSettings(env)).toMatchObject({ index: 'accounts-v2', auth: 'none', sigv4Service: 'aoss', region: 'us-west-2', bulkSize: 250 });
  });

  it("reads IN_ORDER_HOME_LANES as a lane kind, and its first values true and false as 'shard' and 'none'", () => {
    const lanes = (value: string) => readConsumerConfig('fraud', { ...FULL.fraud, IN_ORDER_HOME_LANES: value }).homeLanes;
    expect([lanes('shard'), lanes('Partition-Key'), lanes('none'), lanes('true'), lanes('FALSE'), lanes('1'), lanes('0')]).toEqual(['shard', 'partition-key', 'none', 'shard', 'none', 'shard', 'none']);
    expect(failure('fraud', { ...FULL.fraud, IN_ORDER_HOME_LANES: 'per-key' }).message).toBe('IN_ORDER_HOME_LANES: must be one of shard, partition-key, none (or true, false), got "per-key"');
    expect(readConsumerConfig('fraud', { ...FULL.fraud, PARALLELIZATION_FACTOR: '3' }).parallelizationFactor).toBe(3);
    expect(failure('fraud', { ...FULL.fraud, PARALLELIZATION_FACTOR: '11' }).variable).toBe('PARALLELIZATION_FACTOR');
  });

  it('raises the default maximum delay to a base delay above it', () => {
    expect(readConsumerConfig('audit', { ...FULL.audit, DELIVERY_BASE_DELAY_MS: '8000' }).retry).toEqual({
      maxAttempts: 6,
      baseDelayMs: 8_000,
      maxDelayMs: 8_000,
    });
  });
});

describe('readConsumerConfig: failures name the variable', () => {
  const required: [DestinationName, string][] = [
    ['audit', 'ACCOUNTS_TABLE_NAME'],
    ['search', 'LEDGER_TABLE_NAME'],
    ['fraud', 'DEAD_LETTER_QUEUE_URL'],
    ['audit', 'AUDIT_BUCKET_NAME'],
    ['search', 'SEARCH_ENDPOINT'],
    ['fraud', 'FRAUD_EVENT_BUS_NAME'],
  ];

  it.each(required)('%s without %s', (destination, variable) => {
    const missing = { ...FULL[destination], [variable]: undefined };
    const error = failure(destination, missing);
    expect(error.variable).toBe(variable);
    expect(error.message).toBe(`${variable}: is required and is not set`);
    // Blank is as good as missing.
    expect(failure(destination, { ...FULL[destination], [variable]: '   ' }).variable).toBe(variable);
  });

  it.each([
    ['DELIVERY_MAX_ATTEMPTS', '3.5'],
    ['DELIVERY_MAX_ATTEMPTS', 'six'],
    ['MAX_GAP_AGE_SECONDS', '1e3'],
    ['CLAIM_TTL_SECONDS', '0x10'],
    ['ACCOUNT_CONCURRENCY', '64 workers'],
    ['RETRY_RESERVE_MS', '99999999999999999999'],
  ])('%s=%s is not an integer', (variable, value) => {
    const error = failure('audit', { ...FULL.audit, [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toContain('must be an integer');
  });

  it.each([
    ['DELIVERY_MAX_ATTEMPTS', '0'],
    ['DELIVERY_MAX_ATTEMPTS', '101'],
    ['MAX_GAP_AGE_SECONDS', '0'],
    ['MAX_GAP_AGE_SECONDS', String(366 * 86_400 + 1)],
    ['CLAIM_TTL_SECONDS', '3601'],
    ['ACCOUNT_CONCURRENCY', '-1'],
    ['DELIVERY_BASE_DELAY_MS', '60001'],
    ['RETRY_RESERVE_MS', '600001'],
  ])('%s=%s is out of range', (variable, value) => {
    const error = failure('audit', { ...FULL.audit, [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(/must be between -?\d+ and \d+/);
  });

  it('refuses a maximum delay below the base delay', () => {
    const error = failure('audit', { ...FULL.audit, DELIVERY_BASE_DELAY_MS: '500', DELIVERY_MAX_DELAY_MS: '400' });
    expect(error.variable).toBe('DELIVERY_MAX_DELAY_MS');
    expect(failure('search', { ...FULL.search, SEARCH_BULK_SIZE: '10001' }).variable).toBe('SEARCH_BULK_SIZE');
  });

  it.each([
    ['audit', 'IN_ORDER_COMMIT', 'per-record'],
    ['audit', 'EPOCH_BASELINE', 'latest'],
    ['search', 'SEARCH_AUTH', 'basic'],
    ['search', 'SEARCH_SIGV4_SERVICE', 's3'],
    ['audit', 'EPOCH_REPLAY', 'yes'],
    ['audit', 'S3_FORCE_PATH_STYLE', 'maybe'],
  ] as const)('%s: %s=%s is not one of the allowed values', (destination, variable, value) => {
    const error = failure(destination, { ...FULL[destination], [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(`"${value}"`);
  });

  it.each([
    ['audit', 'AWS_ENDPOINT_URL_DYNAMODB', 'localhost:8000'],
    ['audit', 'AWS_ENDPOINT_URL_SQS', 'ftp://127.0.0.1:9324'],
    ['audit', 'AWS_ENDPOINT_URL_S3', 'not a url'],
    ['fraud', 'AWS_ENDPOINT_URL_EVENTBRIDGE', '127.0.0.1:4010'],
    ['search', 'SEARCH_ENDPOINT', 'search.example.com'],
  ] as const)('%s: %s=%s is not an http(s) URL', (destination, variable, value) => {
    const error = failure(destination, { ...FULL[destination], [variable]: value });
    expect(error.variable).toBe(variable);
    expect(error.message).toContain('must be an http(s) URL');
  });

  it.each(['replay 2025', 'a/b', 'epoch#1', 'x'.repeat(65)])('refuses LEDGER_EPOCH=%s', (epoch) => {
    const error = failure('audit', { ...FULL.audit, LEDGER_EPOCH: epoch });
    expect(error.variable).toBe('LEDGER_EPOCH');
  });

  // The configuration must refuse every epoch the ledger refuses, naming the variable, rather than let the ledger's
  // constructor fail later with a RangeError that does not.
  it.each(['x'.repeat(64), '-replay', '.hidden', '_x'])('refuses LEDGER_EPOCH=%s, which the ledger would refuse', (epoch) => {
    expect(() => new InMemoryLedger({ destination: 'audit', epoch })).toThrow(RangeError);
    expect(failure('audit', { ...FULL.audit, LEDGER_EPOCH: epoch }).variable).toBe('LEDGER_EPOCH');
  });
});

describe('settings that only fail later are refused at cold start', () => {
  it('a claim too short to deliver under: CLAIM_TTL_SECONDS below twice the engine reserve', () => {
    // The engine's reserve is RETRY_RESERVE_MS (default 3000), never under 1 s.
    expect(failure('fraud', { ...FULL.fraud, CLAIM_TTL_SECONDS: '5' }).message).toContain('must be at least 6 with RETRY_RESERVE_MS 3000');
    expect(readConsumerConfig('fraud', { ...FULL.fraud, CLAIM_TTL_SECONDS: '6' }).claimTtlMs).toBe(6_000);
    expect(readConsumerConfig('fraud', { ...FULL.fraud, CLAIM_TTL_SECONDS: '2', RETRY_RESERVE_MS: '500' }).claimTtlMs).toBe(2_000);
    expect(failure('fraud', { ...FULL.fraud, CLAIM_TTL_SECONDS: '60', RETRY_RESERVE_MS: '30001' }).variable).toBe('CLAIM_TTL_SECONDS');
  });

  it.each([
    ['audit', 'EPOCH_REPLAY_FROM', '2026-02-30T00:00:00Z', { LEDGER_EPOCH: 'r1' }],
    ['audit', 'EPOCH_REPLAY_BEFORE', '2026-11-23T10:00:00Z', {}],
    ['audit', 'EPOCH_REPLAY_BEFORE', '2026-11-23T10:00:00Z', { LEDGER_EPOCH: 'r1', EPOCH_REPLAY: 'false' }],
    ['audit', 'LEDGER_EPOCH', 'Live', {}],
    ['search', 'SEARCH_INDEX', 'Bad Index', {}],
    ['search', 'SEARCH_INDEX', 'é'.repeat(128), {}],
    ['search', 'SEARCH_REGION', 'nowhere', {}],
    ['search', 'SEARCH_ENDPOINT', 'https://search.example.com/path?q=1', {}],
    ['search', 'SEARCH_ENDPOINT', 'https://user:secret@search.example.com', {}],
    ['audit', 'AUDIT_KEY_PREFIX', '/changes/', {}],
    ['audit', 'AUDIT_KEY_PREFIX', 'x'.repeat(257), {}],
    ['fraud', 'FRAUD_EVENT_SOURCE', 'aws.accounts', {}],
    ['fraud', 'FRAUD_EVENT_SOURCE', 's'.repeat(257), {}],
  ] as const)('%s: %s=%s', (destination, variable, value, extra) => {
    expect(failure(destination, { ...FULL[destination], ...extra, [variable]: value }).variable).toBe(variable);
  });

  it('takes the values those rules allow', () => {
    const search = { ...FULL.search, SEARCH_INDEX: 'accounts-v2', SEARCH_REGION: 'us-gov-west-1', SEARCH_ENDPOINT: 'http://127.0.0.1:9200' };
    expect(() => readConsumerConfig('search', search)).not.toThrow();
    expect(RUNTIMES.search.readSettings(search)).toMatchObject({ index: 'accounts-v2', region: 'us-gov-west-1' });
    expect(RUNTIMES.audit.readSettings({ ...FULL.audit, AUDIT_KEY_PREFIX: 'bank/changes/' })).toMatchObject({ prefix: 'bank/changes/' });
    const replay = readConsumerConfig('audit', { ...FULL.audit, LEDGER_EPOCH: 'r1', EPOCH_REPLAY_FROM: '2024-02-29T00:00:00Z', EPOCH_REPLAY_BEFORE: '2026-11-23T10:00:00Z' });
    expect(replay.epoch).toMatchObject({ id: 'r1', replay: true });
  });
});

describe('the fraud client', () => {
  it("sends to the bus's own region: an imported bus may be in another region than the function", async () => {
    const imported = new EventBridgeClient(busClientConfig('arn:aws:events:eu-west-1:123456789012:event-bus/fraud', { region: 'ap-southeast-2' }));
    const byName = new EventBridgeClient(busClientConfig('fraud-bus', { region: 'ap-southeast-2' }));
    expect(await imported.config.region()).toBe('eu-west-1');
    expect(await byName.config.region()).toBe('ap-southeast-2');
    imported.destroy();
    byName.destroy();
  });
});

describe('a destination that cannot be built', () => {
  it("releases the ledger's and queue's clients built before it, and throws what it threw", () => {
    const ledgerClosed = vi.spyOn(DynamoDBClient.prototype, 'destroy');
    const queueClosed = vi.spyOn(SQSClient.prototype, 'destroy');
    try {
      expect(() =>
        buildRuntime(readConsumerConfig('fraud', FULL.fraud), () => {
          throw new Error('the plug-in refused its settings');
        }),
      ).toThrow('the plug-in refused its settings');
      expect(ledgerClosed).toHaveBeenCalled();
      expect(queueClosed).toHaveBeenCalled();
    } finally {
      ledgerClosed.mockRestore();
      queueClosed.mockRestore();
    }
  });
});
