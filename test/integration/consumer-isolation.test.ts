import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditObjectKey } from '../../consumers/audit/audit-object';
import type { ChangeFeed } from '../../local/change-feed';
import type { DestinationName } from '../../shared/config/consumer-config';
import type { Env } from '../../shared/config/env';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import type { BuiltRuntime } from '../../shared/consumer/runtime';
import { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';
import { CONSUMER_RUNTIMES, startConsumerWorld, type ConsumerWorld } from '../support/consumer-world';
import { feedHandler, RecordingTelemetry } from '../support/feed-handler';
import { chaoticFeed, versionsOf } from '../support/feeds';

describe('isolation: one destination failing never holds the others back, and nothing is lost', () => {
  let world: ConsumerWorld;
  let feed: ChangeFeed;
  let reader: Client;
  const runtimes: BuiltRuntime[] = [];

  const consumer = (destination: DestinationName, overrides: Env = {}) => {
    const telemetry = new RecordingTelemetry();
    const runtime = CONSUMER_RUNTIMES[destination](world.env(destination, overrides), { telemetry });
    runtimes.push(runtime);
    return { handler: createKinesisHandler(() => runtime), telemetry };
  };

  const searchVersions = async (index: string) => {
    const response = await reader.search({ index, body: { query: { match_all: {} }, size: 1_000 }, version: true });
    return new Map((response.body.hits.hits as { _id: string; _version: number }[]).map((hit) => [hit._id, hit._version]));
  };

  beforeAll(async () => {
    world = await startConsumerWorld('isolation');
    feed = await chaoticFeed(world);
    reader = new Client({ node: world.openSearch.endpoint });
  });
  afterAll(async () => {
    for (const runtime of runtimes) runtime.close();
    await reader?.close();
    await world?.stop();
  });

  it('with every EventBridge call failing, audit and search deliver everything; every fraud record is parked or dead-lettered', async () => {
    world.eventBridge.setFaults({ callFailureRate: 1, callError: 'InternalException' });
    const audit = consumer('audit');
    const search = consumer('search');
    const fraud = consumer('fraud', { DELIVERY_MAX_ATTEMPTS: '3' });

    const runs = await Promise.all([audit, search, fraud].map(({ handler }) => feedHandler(handler, feed.feeds)));

    for (const { gaveUp } of runs) expect(gaveUp).toEqual([]);
    const expected = versionsOf(feed);
    expect((await world.auditObjects()).size).toBe(expected.length);
    expect(await searchVersions(world.index)).toEqual(new Map(feed.truth.finalVersions));
    expect(world.eventBridge.events()).toEqual([]);

    // Every fraud version is accounted for: in the dead-letter queue with its record, or parked in the ledger.
    const letters = await world.drainDeadLetters('fraud');
    for (const letter of letters) {
      expect(letter).toMatchObject({ reason: 'DELIVERY_FAILED', destination: 'fraud' });
      expect(letter.detail).toContain('InternalException');
      expect(letter.record?.version).toBe(letter.version);
    }
    const ledger = new DynamoDBLedger({ client: world.dynamodb, tableName: world.ledgerTable, destination: 'fraud', epoch: 'live' });
    const accountedFor = new Set(letters.map((letter) => `${letter.accountId}#${letter.version}`));
    for (const accountId of feed.truth.finalVersions.keys()) {
      for (const record of await ledger.parked(accountId, 1, Number.MAX_SAFE_INTEGER, 100_000)) accountedFor.add(`${record.accountId}#${record.version}`);
    }
    expect([...accountedFor].sort()).toEqual(expected.map(({ accountId, version }) => `${accountId}#${version}`).sort());
    expect(fraud.telemetry.totals().retries).toBeGreaterThan(0);
    expect(audit.telemetry.totals().retries + search.telemetry.totals().retries).toBe(0);
  });

  it('with OpenSearch answering 429 half the time, search still converges and audit is untouched', async () => {
    world.eventBridge.setFaults({});
    world.openSearch.setFaults({ throttleRate: 0.5, itemThrottleRate: 0.2, seed: 5 });
    const index = `${world.index}-throttled`;
    const audit = consumer('audit', { LEDGER_EPOCH: 'throttled', EPOCH_BASELINE: 'from-version-1', AUDIT_KEY_PREFIX: 'throttled/' });
    const search = consumer('search', { LEDGER_EPOCH: 'throttled', SEARCH_INDEX: index, DELIVERY_MAX_ATTEMPTS: '20' });

    const runs = await Promise.all([audit, search].map(({ handler }) => feedHandler(handler, feed.feeds)));
    world.openSearch.setFaults({});

    for (const { gaveUp } of runs) expect(gaveUp).toEqual([]);
    expect(world.openSearch.stats.throttled).toBeGreaterThan(0);
    expect(search.telemetry.totals().retries).toBeGreaterThan(0);
    expect(search.telemetry.totals().deadLettered).toBe(0);
    expect(await searchVersions(index)).toEqual(new Map(feed.truth.finalVersions));

    const objects = await world.auditObjects();
    const expected = versionsOf(feed).map(({ accountId, version }) => auditObjectKey(accountId, version, 'throttled/'));
    expect([...objects.keys()].filter((key) => key.startsWith('throttled/')).sort()).toEqual(expected.sort());
    expect(audit.telemetry.totals()).toMatchObject({ retries: 0, deadLettered: 0, failures: 0, delivered: expected.length });
  });
});
