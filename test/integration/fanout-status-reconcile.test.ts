import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DESTINATION_NAMES } from '../../infra/config/pipeline-config';
import { localStateOf } from '../../local/pipeline/local-state';
import { runPipeline, type PipelineRun } from '../../local/pipeline/run-pipeline';
import { reconcile } from '../../ops/commands/reconcile';
import { status } from '../../ops/commands/status';
import { recordingIO } from '../../ops/io';
import { localTarget, type PipelineTarget } from '../../ops/target';
import { collectStatus } from '../../ops/commands/status';
import { ledgerTarget } from '../support/ledger-target';
import { LEDGER_PARTITION_KEY, LEDGER_SORT_KEY, WATERMARK_SORT_KEY, ledgerPartitionKey } from '../../shared/ledger/ledger-table';
import { TINY_RUN } from '../support/small-runs';

/** The one JSON document a command printed. */
function parsed<T = any>(io: { lines: string[] }): T {
  return JSON.parse(io.lines.join('\n')) as T;
}

describe('fanout status and reconcile on a local pipeline', () => {
  let run: PipelineRun;
  let target: PipelineTarget;

  beforeAll(async () => {
    run = await runPipeline({
      ...TINY_RUN,
      seed: 3,
      dynamodbEndpoint: inject('dynamodbEndpoint'),
    });
    target = localTarget(localStateOf(run.env, run.config));
  });

  afterAll(async () => {
    await target?.close();
    await run?.stop();
  });

  it('the pipeline run converged', () => {
    expect(run.report.ok).toBe(true);
    expect(run.report.accounts).toBe(5);
  });

  it('status shows every destination with its consumer, nothing behind, parked or dead-lettered', async () => {
    const io = recordingIO();
    expect(await status(target, {}, io)).toBe(0);
    expect(io.errors).toEqual([]);
    const header = io.lines.findIndex((line) => line.startsWith('destination'));
    expect(header).toBeGreaterThan(0);
    const rows = io.lines.slice(header + 1);
    for (const name of DESTINATION_NAMES) {
      const row = rows.find((line) => line.startsWith(`${name} `));
      expect(row, name).toBeDefined();
      expect(row).toContain('ACTIVE');
      expect(row).toContain(target.destinations[name]?.streamConsumerArn);
      // behind, waiting, parked: 0; oldest wait: -; gap-timed-out, blocked, dead letters, deletions not delivered: 0
      expect(row).toMatch(/ACTIVE\s+0\s+0\s+0\s+-\s+0\s+0\s+0\s+0\s/);
    }
    // One aligned table: the last column starts at the same place on every row.
    const arnAt = io.lines[header]?.indexOf('consumer arn');
    for (const name of DESTINATION_NAMES) {
      const row = rows.find((line) => line.startsWith(`${name} `)) ?? '';
      expect(row.indexOf(target.destinations[name]?.streamConsumerArn ?? '?'), name).toBe(arnAt);
    }

    const json = recordingIO(true);
    expect(await status(target, {}, json)).toBe(0);
    const doc = parsed(json);
    expect(doc.target).toMatchObject({ kind: 'local', accountsTable: target.accountsTable });
    expect(Object.keys(doc.destinations)).toEqual([...DESTINATION_NAMES]);
    for (const name of DESTINATION_NAMES) {
      expect(doc.destinations[name], name).toMatchObject({
        epoch: 'live',
        startingPosition: 'TRIM_HORIZON',
        consumerStatus: 'ACTIVE',
        accounts: 5,
        accountsBehind: 0,
        replayFrom: null,
        unchangedSinceReplayStart: 0,
        deletionsNotDelivered: 0,
        deletionSamples: [],
        waitingAccounts: 0,
        parked: 0,
        oldestWaitSeconds: 0,
        gapTimedOut: 0,
        blockedOnFailure: 0,
        deadLetters: { visible: 0, inFlight: 0, total: 0 },
        errors: [],
      });
    }

    const one = recordingIO(true);
    expect(await status(target, { destination: 'fraud' }, one)).toBe(0);
    expect(Object.keys(parsed(one).destinations)).toEqual(['fraud']);
  });

  it('reconcile finds everything in sync, ledger and contents', async () => {
    const io = recordingIO();
    expect(await reconcile(target, { contents: true }, io)).toBe(0);
    expect(io.lines.at(-1)).toMatch(/^RESULT: OK/);
    expect(io.lines.join('\n')).toContain('fraud: contents not checked');

    const json = recordingIO(true);
    expect(await reconcile(target, { contents: true, segments: 3 }, json)).toBe(0);
    const doc = parsed(json);
    expect(doc).toMatchObject({ ok: true, accounts: 5, contents: true });
    for (const name of DESTINATION_NAMES) {
      expect(doc.destinations[name], name).toMatchObject({ accounts: 5, lagging: [], missing: [], deletionsNotDelivered: [], replayFrom: null, error: null, inSync: true });
    }
    expect(doc.destinations.audit.contents).toEqual({ checked: true, mismatched: [] });
    expect(doc.destinations.search.contents).toEqual({ checked: true, mismatched: [] });
    expect(doc.destinations.fraud.contents.checked).toBe(false);
  });

  it('refuses --repair for destinations that need every version', async () => {
    for (const destination of ['fraud', 'audit'] as const) {
      const io = recordingIO();
      expect(await reconcile(target, { destination, repair: true }, io)).toBe(2);
      expect(io.lines).toEqual([]);
      expect(io.errors.join('\n')).toMatch(new RegExp(`refused for ${destination}.*only latest-state destinations \\(search\\)`));
    }
  });

  it('finds a wiped search index with --contents, repairs it, and is then clean', async () => {
    const client = new Client({ node: run.env.endpoints.opensearch });
    try {
      await client.indices.delete({ index: run.env.functionEnvironment('search').SEARCH_INDEX as string });
    } finally {
      await client.close();
    }

    // The ledger still says everything was delivered: only --contents sees it.
    expect(await reconcile(target, { destination: 'search' }, recordingIO())).toBe(0);
    const check = recordingIO(true);
    expect(await reconcile(target, { destination: 'search', contents: true }, check)).toBe(1);
    const found = parsed(check);
    expect(found.ok).toBe(false);
    expect(found.destinations.search.contents.mismatched).toHaveLength(5);
    expect(found.destinations.search.contents.mismatched.every((m: { found: unknown }) => m.found === null)).toBe(true);

    const human = recordingIO();
    expect(await reconcile(target, { destination: 'search', contents: true }, human)).toBe(1);
    expect(human.lines.join('\n')).toContain('search: 5 mismatched in the destination');
    expect(human.lines.at(-1)).toBe('RESULT: OUT OF SYNC');

    const repair = recordingIO(true);
    expect(await reconcile(target, { destination: 'search', contents: true, repair: true }, repair)).toBe(0);
    expect(parsed(repair).destinations.search.repair).toMatchObject({ accounts: 5, delivered: 5, alreadyCurrent: 0, stale: 0, failed: 0 });

    const after = recordingIO(true);
    expect(await reconcile(target, { destination: 'search', contents: true }, after)).toBe(0);
    expect(parsed(after).destinations.search).toMatchObject({ inSync: true, contents: { checked: true, mismatched: [] } });
    // A second repair has nothing to do.
    const again = recordingIO(true);
    expect(await reconcile(target, { destination: 'search', contents: true, repair: true }, again)).toBe(0);
    expect(parsed(again).destinations.search.repair).toBeNull();
  });

  it('reports an account whose watermark is gone as missing, in reconcile and as behind in status', async () => {
    const accountId = [...run.accepted.audit][0]?.accountId as string;
    await target.dynamodb.send(
      new DeleteItemCommand({
        TableName: target.ledgerTable,
        Key: {
          [LEDGER_PARTITION_KEY]: { S: ledgerPartitionKey('audit', target.destinations.audit?.epoch ?? 'live', accountId) },
          [LEDGER_SORT_KEY]: { S: WATERMARK_SORT_KEY },
        },
      }),
    );
    const json = recordingIO(true);
    expect(await reconcile(target, {}, json)).toBe(1);
    const doc = parsed(json);
    expect(doc.destinations.audit.missing).toEqual([{ accountId, version: expect.any(Number) }]);
    expect(doc.destinations.search.inSync).toBe(true);
    expect(doc.destinations.fraud.inSync).toBe(true);

    const human = recordingIO();
    expect(await reconcile(target, { destination: 'audit' }, human)).toBe(1);
    expect(human.lines.join('\n')).toContain(`audit: 1 missing (no watermark)\n  ${accountId}`);

    const state = recordingIO(true);
    expect(await status(target, {}, state)).toBe(0);
    expect(parsed(state).destinations.audit.accountsBehind).toBe(1);
    expect(parsed(state).destinations.search.accountsBehind).toBe(0);
  });
});

describe('fanout status and reconcile on the ledger states of a bad day', () => {
  it('count versions an every-version destination owes under its watermark as missing, and not those it delivered ahead of a gap', async () => {
    const { target, account, watermark } = await ledgerTarget({ audit: 'every-version', fraud: 'in-order' });
    try {
      // v5 dead-lettered while S3 was down: audit's watermark passed it (owed), fraud's waits below it (blocked).
      await account('dead-lettered', 6);
      await watermark('audit', { accountId: 'dead-lettered', version: 6, owed: [[5, 5]] });
      await watermark('fraud', { accountId: 'dead-lettered', version: 4, owed: [[5, 5]] });
      // v2 never came; audit delivered 3-100 ahead of it: one version missing, not 99.
      await account('gap', 100);
      await watermark('audit', { accountId: 'gap', version: 1, ahead: [[3, 100]] });
      await watermark('fraud', { accountId: 'gap', version: 100 });
      // Baselined at v8 (it predates the pipeline): 1-7 were never audit's to deliver.
      await account('baselined', 9);
      await watermark('audit', { accountId: 'baselined', version: 9, floor: 7, owed: [[1, 7]] });
      await watermark('fraud', { accountId: 'baselined', version: 9, floor: 7, skipped: [[1, 7]] });

      const snapshot = await collectStatus(target, {});
      expect(snapshot.destinations.audit).toMatchObject({ accountsBehind: 2, versionsBehind: 2 });
      expect(snapshot.destinations.fraud).toMatchObject({ accountsBehind: 1, versionsBehind: 2, blockedOnFailure: 1 });

      const json = recordingIO(true);
      expect(await reconcile(target, {}, json)).toBe(1);
      const audit = parsed(json).destinations.audit;
      expect(audit.inSync).toBe(false);
      expect(audit.lagging).toEqual(
        expect.arrayContaining([
          { accountId: 'dead-lettered', version: 6, watermark: 6, owed: '5' },
          { accountId: 'gap', version: 100, watermark: 1 },
        ]),
      );
      expect(audit.lagging).toHaveLength(2);

      const human = recordingIO();
      expect(await reconcile(target, { destination: 'audit' }, human)).toBe(1);
      expect(human.lines.join('\n')).toContain('dead-lettered  table v6  watermark v6  owed v5');
    } finally {
      await target.close();
    }
  });
});
