import { describe, expect, inject, it } from 'vitest';
import type { RunReport } from '../../local/report';
import { runLocal } from '../../local/run';
import { checkAccount } from '../../local/verify';
import { uniqueTableName } from '../support/dynamodb';

describe('the local run (npm start) against DynamoDB Local', () => {
  let report: RunReport;

  it('captures every change and delivers it to every destination despite duplicates and reordering', async () => {
    report = await runLocal({
      endpoint: inject('dynamodbEndpoint'),
      accountsTable: uniqueTableName('accounts'),
      ledgerTable: uniqueTableName('ledger'),
      accounts: 6,
      changes: 100,
      concurrency: 4,
      seed: 11,
      duplicateRate: 0.2,
      reorderRate: 0.3,
      reorderWindow: 6,
      batchSize: 20,
    });

    expect(report.capture).toMatchObject({ complete: true, caughtUp: true, missing: 0, unexpected: 0 });
    expect(report.capture.captured).toBe(report.workload.versionsWritten);
    // The chaos really happened, otherwise this test proves little.
    expect(report.stream.chaos.duplicates).toBeGreaterThan(10);
    expect(report.stream.chaos.crossShardDuplicates).toBeGreaterThan(0);
    expect(report.stream.chaos.displaced).toBeGreaterThan(20);
    expect(report.stream.shards.filter((shard) => shard.records > 0)).toHaveLength(2);

    expect(report.destinations.map((d) => [d.name, d.mode])).toEqual([
      ['audit', 'every-version'],
      ['search', 'latest-state'],
      ['fraud', 'in-order'],
    ]);
    for (const destination of report.destinations) {
      expect(destination, destination.name).toMatchObject({
        missing: 0,
        orderViolations: 0,
        unexpected: 0,
        contentMismatches: 0,
        parkedRemaining: 0,
        waitingAccounts: 0,
        deadLettered: 0,
        badRecords: 0,
        failedRecords: 0,
        ok: true,
      });
    }
    expect(report.ok).toBe(true);
  });

  it('reads back what each mode promises: all versions, the final state, or the exact sequence', () => {
    const [audit, search, fraud] = report.destinations;
    const versions = report.capture.expected;
    expect(audit?.received).toBeGreaterThanOrEqual(versions);
    expect(fraud?.received).toBe(versions + (fraud?.redelivered ?? 0));
    // The search index keeps only the newest version, so it receives fewer than every version but at least one each.
    expect(search?.received).toBeGreaterThanOrEqual(report.capture.accounts);
    // The engines turned duplicates away (as duplicates, or as stale for the search index) instead of delivering them.
    expect(report.destinations.every((d) => d.duplicatesSkipped + d.stale > 0)).toBe(true);
  });
});

describe('the per-account checks the run relies on', () => {
  it('catch a missing version, a reorder and a lower-after-higher', () => {
    expect(checkAccount('every-version', [1, 3, 2, 2], 3)).toEqual({ missing: 0, orderViolations: 0, redelivered: 1 });
    expect(checkAccount('every-version', [1, 3], 3)).toMatchObject({ missing: 1 });
    expect(checkAccount('in-order', [1, 2, 3], 3)).toEqual({ missing: 0, orderViolations: 0, redelivered: 0 });
    expect(checkAccount('in-order', [1, 3, 2], 3)).toMatchObject({ missing: 0, orderViolations: 2 });
    expect(checkAccount('in-order', [1, 2], 3)).toMatchObject({ missing: 1, orderViolations: 0 });
    expect(checkAccount('latest-state', [2, 5], 5)).toEqual({ missing: 0, orderViolations: 0, redelivered: 0 });
    expect(checkAccount('latest-state', [5, 4], 5)).toMatchObject({ missing: 1, orderViolations: 1 });
    expect(checkAccount('latest-state', [], 5)).toMatchObject({ missing: 1 });
  });
});
