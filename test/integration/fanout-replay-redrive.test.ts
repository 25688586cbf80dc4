import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { AUDIT_KEY_PREFIX, REPLAY_READ_MARGIN_SECONDS, replayReadStart } from '../../infra/config/consumer-environment';
import { parsePipelineConfig } from '../../infra/config/load-config';
import { DESTINATION_NAMES } from '../../infra/config/pipeline-config';
import { toLambdaKinesisEvent } from '../../local/lambda-event';
import { localStateOf } from '../../local/pipeline/local-state';
import { standInOf } from '../../local/pipeline/read-back';
import { runPipeline, type PipelineRun } from '../../local/pipeline/run-pipeline';
import { redrive } from '../../ops/commands/redrive';
import { toKinesisInput } from '../../ops/commands/redrive-batches';
import { replay } from '../../ops/commands/replay';
import { recordingIO } from '../../ops/io';
import { localTarget, type PipelineTarget } from '../../ops/target';
import { decodeChangeRecord } from '../../shared/change-record/decode';
import { ledgerPartitionKey } from '../../shared/ledger/ledger-table';
import { badRecordLetter, encodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
import type { DeadLetter } from '../../shared/ordering/ports';
import { accountHistory } from '../support/histories';
import { liveDestinations, stubLedger } from '../support/replay-target';
import { localDynamoDB, uniqueTableName } from '../support/dynamodb';
import { createLedgerTable } from '../../local/tables';
import { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';
import { emptyWatermark } from '../../shared/ordering/watermark';

const SMALL = { accounts: 6, changes: 40, seed: 12, shards: 2, duplicateRate: 0.2, reorderRate: 0.3, reorderWindow: 6, concurrency: 4, convergeTimeoutMs: 60_000 } as const;

const runs: PipelineRun[] = [];
const targets: PipelineTarget[] = [];
afterAll(async () => {
  for (const target of targets) await target.close();
  for (const run of runs) await run.stop();
});

async function start(options: Partial<Parameters<typeof runPipeline>[0]> = {}) {
  const run = await runPipeline({ ...SMALL, dynamodbEndpoint: inject('dynamodbEndpoint'), ...options });
  runs.push(run);
  const target = localTarget(localStateOf(run.env, run.config));
  targets.push(target);
  return { run, target };
}

/** Every account's version and balance, from a consistent scan of the table. */
async function tableState(run: PipelineRun): Promise<Map<string, { version: number; balance: number }>> {
  const { Items } = await run.env.dynamodb.send(new ScanCommand({ TableName: run.env.resources.accountsTable, ConsistentRead: true }));
  return new Map((Items ?? []).map((item) => unmarshall(item)).map((item) => [item.account_id as string, { version: item.version as number, balance: item.balance as number }]));
}

async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

/** What the EventBridge stand-in received on the fraud bus, in arrival order, through fraud's local half. */
const fraudEvents = (run: PipelineRun) => standInOf(run.env, 'fraud').readBack();

const fraudVersions = async (run: PipelineRun): Promise<Map<string, number[]>> => {
  const result = new Map<string, number[]>();
  for (const { accountId, version } of await fraudEvents(run)) result.set(accountId, [...(result.get(accountId) ?? []), version]);
  return result;
};

/** What the search index holds now, through search's local half (the real OpenSearch client). */
const searchDocuments = async (run: PipelineRun) => (await standInOf(run.env, 'search').currentState?.()) ?? new Map();

const payloadBytesOf = (input: { data: string }) => Buffer.from(input.data, 'base64').length;

describe('fanout redrive', () => {
  it('rebuilds a dead letter as the Kinesis-for-DynamoDB record the decoder reads back', () => {
    const records = [...accountHistory('A', 3), ...accountHistory('B', 3, { endsWithRemove: true })];
    for (const record of [...records, { ...records[1]!, arrivedAtMs: 1_795_392_000_123, removedByTtl: false }]) {
      const input = toKinesisInput(record, 'Accounts', 'eu-west-1');
      const decoded = decodeChangeRecord(input, { tableName: 'Accounts' });
      const { removedByTtl: _flag, ...expected } = record as typeof record & { removedByTtl?: boolean };
      // The rebuilt payload is measured afresh: its bytes bound the images it carries now.
      expect(decoded).toEqual({ ok: true, record: { ...expected, payloadBytes: payloadBytesOf(input) } });
    }
    const ttl = { ...records.at(-1)!, removedByTtl: true };
    const ttlInput = toKinesisInput(ttl, 'Accounts', 'eu-west-1');
    expect(decodeChangeRecord(ttlInput, { tableName: 'Accounts' })).toEqual({ ok: true, record: { ...ttl, payloadBytes: payloadBytesOf(ttlInput) } });
  });

  it('drains the fraud dead-letter queue through the engine: every account complete and in order', { timeout: 120_000 }, async () => {
    const { run, target } = await start({ faults: [{ destination: 'fraud', rate: 1 }] });
    const queueUrl = run.env.resources.deadLetterQueues.fraud;
    expect(await fraudEvents(run)).toEqual([]);
    const letters = await queueDepth(run.env.sqs, queueUrl);
    expect(letters).toBeGreaterThanOrEqual(run.report.accounts);

    // While the bus still fails, each redriven letter is dead-lettered again: left in the queue, not redriven twice.
    const failing = recordingIO(true);
    expect(await redrive(target, { destination: 'fraud' }, failing)).toBe(1);
    expect(JSON.parse(failing.lines[0]!)).toMatchObject({ drained: false, total: { received: letters, redriven: letters, stillFailing: letters } });
    expect(await queueDepth(run.env.sqs, queueUrl)).toBe(letters);
    standInOf(run.env, 'fraud').failCalls?.(0, 1);

    const dry = recordingIO(true);
    expect(await redrive(target, { destination: 'fraud', dryRun: true }, dry)).toBe(0);
    const planned = JSON.parse(dry.lines[0]!) as { total: { received: number; redriven: number; deleted: number }; dryRun: boolean };
    expect(planned).toMatchObject({ dryRun: true, total: { received: letters, redriven: letters, deleted: 0 } });
    expect(await fraudEvents(run)).toEqual([]);
    expect(await queueDepth(run.env.sqs, queueUrl)).toBe(letters);

    const io = recordingIO();
    expect(await redrive(target, { destination: 'fraud', batchSize: 10 }, io), io.lines.join('\n')).toBe(0);
    expect(io.lines.join('\n')).toMatch(/RESULT: drained/);
    expect(io.lines.some((line) => /^DELIVERY_FAILED\s+\d+\s+\d+\s+0\s+0\s+\d+$/.test(line)), io.lines.join('\n')).toBe(true);

    const table = await tableState(run);
    const delivered = await fraudVersions(run);
    for (const [accountId, { version }] of table) {
      expect(delivered.get(accountId), accountId).toEqual(Array.from({ length: version }, (_, i) => i + 1));
    }
    expect(await queueDepth(run.env.sqs, queueUrl)).toBe(0);

    // A quarantined record and a gap time-out: kept with --skip-bad and by default, reported; then re-sent / deleted.
    const at = Date.now() - 1_000;
    const bad = { reason: 'NOT_BASE64', detail: 'not base64', sequenceNumber: '4960-bad', shardId: 'shardId-000000000000', data: 'not base64!' } as const;
    const gap: DeadLetter = { destination: 'fraud', epoch: 'live', reason: 'GAP_TIMEOUT', detail: 'never came', attempts: 1, accountId: 'X', missing: [[3, 4]], at };
    for (const letter of [badRecordLetter(bad, 'fraud', 'live', at), gap]) {
      await run.env.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: encodeDeadLetter(letter) }));
    }
    const kept = recordingIO();
    // The notice's account still misses 3-4 (revisited in the function): it stays, with what to do about it.
    expect(await redrive(target, { destination: 'fraud', skipBad: true }, kept)).toBe(1);
    expect(kept.lines).toContain('gap timeout: account X (epoch live) versions 3-4: account X still misses versions 3-4 (state new): a copy that arrives is still delivered; once you accept they are lost, --acknowledge GAP_TIMEOUT deletes the notice');
    expect(kept.lines.some((line) => /^BAD_RECORD\s+1\s+0\s+0\s+1\s+0$/.test(line)), kept.lines.join('\n')).toBe(true);
    expect(await queueDepth(run.env.sqs, queueUrl)).toBe(2);
    const resent = recordingIO(true);
    expect(await redrive(target, { destination: 'fraud', deleteGapTimeouts: true }, resent)).toBe(1);
    expect(JSON.parse(resent.lines[0]!)).toMatchObject({
      drained: false,
      reasons: { BAD_RECORD: { received: 1, redriven: 1, stillFailing: 1 }, GAP_TIMEOUT: { received: 1, deleted: 1 } },
      gapTimeouts: [{ accountId: 'X', missingVersions: '3-4', resolved: false, deleted: true }],
    });
    // The data is still not base64: the handler quarantined it again, so the queue holds its new letter.
    expect(await queueDepth(run.env.sqs, queueUrl)).toBe(1);
  });

  it('skips a gap that never fills through the function: the reason is kept, what waited goes out, the notice resolves', { timeout: 120_000 }, async () => {
    const { run, target } = await start({ accounts: 2, changes: 4 });
    const queueUrl = run.env.resources.deadLetterQueues.fraud;
    const history = accountHistory('GAP-1', 5);
    const event = toLambdaKinesisEvent(
      [history[0]!, history[3]!, history[4]!].map((record) => toKinesisInput(record, run.env.resources.accountsTable, 'us-east-1')),
      { region: 'us-east-1', streamArn: target.streamArn },
    );
    expect(await target.invoke('fraud', event)).toEqual({ batchItemFailures: [] });
    expect((await fraudVersions(run)).get('GAP-1')).toEqual([1]);
    const notice: DeadLetter = { destination: 'fraud', epoch: 'live', reason: 'GAP_TIMEOUT', detail: 'versions 2-3 were not received', attempts: 0, accountId: 'GAP-1', version: 2, missing: [[2, 3]], waiting: 2, at: Date.now() - 1_000 };
    await run.env.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: encodeDeadLetter(notice) }));

    const refused = recordingIO(true);
    expect(await redrive(target, { destination: 'fraud', skipGaps: [{ accountId: 'GAP-1', through: 4 }], reason: 'lost in test' }, refused)).toBe(1);
    expect(JSON.parse(refused.lines[0]!)).toMatchObject({ skips: [{ accountId: 'GAP-1', outcome: { refused: expect.stringContaining('version 4 is parked') } }], gapTimeouts: [{ resolved: false }] });
    const usage = recordingIO();
    expect(await redrive(target, { destination: 'fraud', skipGaps: [{ accountId: 'GAP-1', through: 3 }] }, usage)).toBe(2);

    const io = recordingIO();
    expect(await redrive(target, { destination: 'fraud', skipGaps: [{ accountId: 'GAP-1', through: 3 }], reason: 'lost in test' }, io), io.lines.join('\n')).toBe(0);
    expect(io.lines).toContain('skip-gap GAP-1@3: skipped versions 2-3, then delivered 2 that waited behind them');
    expect(io.lines).toContain('gap timeout: account GAP-1 (epoch live) versions 2-3: resolved since (letter deleted)');
    expect((await fraudVersions(run)).get('GAP-1')).toEqual([1, 4, 5]);
    expect(await queueDepth(run.env.sqs, queueUrl)).toBe(0);
    const { orderedFanout } = await target.command('fraud', { command: 'resume', accountIds: ['GAP-1'] });
    expect(orderedFanout.accounts[0]).toMatchObject({ state: 'in-step', version: 5, skipped: [[2, 3]], skips: [{ from: 2, to: 3, reason: 'lost in test' }] });
  });
});

describe('fanout replay, local', () => {
  it('rebuilds a deleted search index and restores deleted audit objects, leaving the other destinations alone', { timeout: 120_000 }, async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    const { run, target } = await start({ seed: 13, duplicateRate: 0, reorderRate: 0 });
    expect(run.report.ok).toBe(true);
    const table = await tableState(run);

    const opensearch = new Client({ node: run.env.endpoints.opensearch });
    await opensearch.indices.delete({ index: run.env.functionEnvironment('search').SEARCH_INDEX as string });
    await opensearch.close();
    expect((await searchDocuments(run)).size).toBe(0);
    const auditCreated = run.env.s3Proxy.created.length;
    const fraudCount = (await fraudEvents(run)).length;

    const io = recordingIO();
    expect(await replay(target, { destination: 'search', from, apply: true }, io), [...io.lines, ...io.errors].join('\n')).toBe(0);
    expect(io.lines.join('\n')).toContain('caught up');
    // Read from the replay function's metrics, those of the pipeline's series (service = the pipeline's name).
    expect(io.lines.join('\n')).toMatch(new RegExp(`^search: RecordsReceived [1-9]\\d*, Delivered [1-9]\\d*,`, 'm'));
    const documents = await searchDocuments(run);
    expect(documents.size).toBe(table.size);
    for (const [accountId, { version, balance }] of table) expect(documents.get(accountId), accountId).toEqual({ version, balance });
    expect(run.env.s3Proxy.created.length).toBe(auditCreated);
    expect(await fraudEvents(run)).toHaveLength(fraudCount);

    // Audit: delete one account's history from the log, replay audit, and it is back (marked as a replay).
    const bucket = run.env.functionEnvironment('audit').AUDIT_BUCKET_NAME as string;
    const [accountId] = [...table.keys()];
    const prefix = `${AUDIT_KEY_PREFIX}account_id=${encodeURIComponent(accountId!)}/`;
    const list = async () => ((await run.env.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!).sort();
    const keys = await list();
    expect(keys).toHaveLength(table.get(accountId!)!.version);
    for (const key of keys) await run.env.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    expect(await list()).toEqual([]);

    const audit = recordingIO();
    expect(await replay(target, { destination: 'audit', from, epoch: 'audit-restore-1', apply: true }, audit), audit.errors.join('\n')).toBe(0);
    expect(await list()).toEqual(keys);
    const restored = await run.env.s3.send(new GetObjectCommand({ Bucket: bucket, Key: keys[0] }));
    expect(JSON.parse(await restored.Body!.transformToString())).toMatchObject({ accountId, version: 1, replay: true, epoch: 'audit-restore-1' });
    expect(run.env.s3Proxy.created.length).toBe(auditCreated + keys.length);
    expect(await fraudEvents(run)).toHaveLength(fraudCount);

    // The ledger now holds audit's watermarks under that epoch, which a Scan of DynamoDB Local finds: a second replay
    // under it is refused; fraud, which has none under it, may take it.
    const again = recordingIO();
    expect(await replay(target, { destination: 'audit', from, epoch: 'audit-restore-1' }, again)).toBe(2);
    expect(again.errors.join('\n')).toMatch(/--epoch audit-restore-1 was used before: \S+ holds audit items under it \(account \S+, the first found\)/);
    const other = recordingIO();
    expect(await replay(target, { destination: 'fraud', from, epoch: 'audit-restore-1' }, other), other.errors.join('\n')).toBe(0);
  });
});

describe('fanout replay, AWS', () => {
  const HOUR = 3_600_000;
  const deploys: string[][] = [];
  const deploy = async (args: string[]): Promise<number> => {
    deploys.push(args);
    return 0;
  };
  const stream = 'arn:aws:kinesis:eu-west-1:123456789012:stream/accounts-changes';
  /** A ledger holding every destination's live watermarks of two accounts, and fraud's of `acct-2` under the epochs `used`. */
  const tables = (used: readonly string[]): DynamoDBClient =>
    stubLedger([
      ...DESTINATION_NAMES.flatMap((name) => ['acct-1', 'acct-2'].map((account) => ledgerPartitionKey(name, 'live', account))),
      ...used.map((epoch) => ledgerPartitionKey('fraud', epoch, 'acct-2')),
    ]);
  const aws = (retentionHours = 24, usedEpochs: readonly string[] = []): PipelineTarget => ({
    kind: 'aws',
    description: 'stack OrderedFanout in eu-west-1',
    accountsTable: 'Accounts',
    ledgerTable: 'OrderingLedger',
    streamArn: stream,
    destinations: liveDestinations(stream),
    dynamodb: tables(usedEpochs),
    sqs: {} as SQSClient,
    kinesis: { send: async () => ({ StreamDescriptionSummary: { RetentionPeriodHours: retentionHours } }) } as unknown as KinesisClient,
    environment: async () => ({}),
    invoke: () => Promise.reject(new Error('not invoked by replay')),
    command: () => Promise.reject(new Error('not used by replay')),
    close: async () => undefined,
  });

  it('without --apply prints the plan and changes nothing', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'fanout-replay-')), 'pipeline.json');
    const from = new Date(Date.now() - 2 * HOUR).toISOString();
    const plan = recordingIO();
    expect(await replay(aws(), { destination: 'fraud', from, configFile: file, deploy }, plan)).toBe(0);
    const text = plan.lines.join('\n');
    expect(text).toContain('epoch live');
    // Named after the start and the time of planning: a second replay from the same start gets an epoch of its own.
    expect(text).toMatch(/new epoch\s+replay-\d{8}T\d{6}Z-\d{8}T\d{6}Z/);
    expect(text).toMatch(/new EFO\s+OrderedFanout-fraud-replay-\d{8}T\d{6}Z-\d{8}T\d{6}Z-[0-9a-f]{8}/);
    // The mapping reads from a little before the window: a change whose writer's clock runs ahead arrives early.
    expect(text).toContain(`AT_TIMESTAMP ${replayReadStart(from)}, 5 minutes before the window`);
    expect(text).toContain(`what comes before ${from} is skipped`);
    expect(text).toContain('"replay": true');
    expect(text).toMatch(/others\s+audit, search: nothing changes/);
    expect(existsSync(file)).toBe(false);
    expect(deploys).toEqual([]);
  });

  // Regression: the search runbook (replay, then reconcile --contents) left every account without a change since
  // --from missing from a wiped index: a latest-state replay holds no change of theirs. The plan now says so, and what
  // writes them back.
  it('says a latest-state replay writes nothing for accounts unchanged since --from, and names the repair', async () => {
    const plan = recordingIO();
    expect(await replay(aws(), { destination: 'search', from: new Date(Date.now() - HOUR).toISOString(), deploy }, plan)).toBe(0);
    expect(plan.lines.join('\n')).toMatch(/Accounts with no change since the start are not written.*fanout reconcile --destination search --contents --repair/);
  });

  // Regression: a replay from after an account's gap began left what the old epoch held parked for it from before
  // --from to no epoch at all (the new one skips it as before its window; nothing works on the old one any more).
  it('warns of accounts of the current epoch that wait behind a gap since before --from', async () => {
    const client = localDynamoDB();
    const ledgerTable = uniqueTableName('replay-stranded');
    await createLedgerTable(client, ledgerTable);
    const since = Date.now() - 3 * HOUR;
    const history = accountHistory('acct-9', 3);
    const ledger = new DynamoDBLedger({ client, tableName: ledgerTable, destination: 'fraud', epoch: 'live' });
    await ledger.write({ expectedRevision: 0, next: { ...emptyWatermark('acct-9'), version: 1, revision: 1, parked: [[3, 3]], gapSince: since }, park: [history[2]!], unpark: [] });
    const target = { ...aws(), dynamodb: client, ledgerTable };

    const before = recordingIO();
    expect(await replay(target, { destination: 'fraud', from: new Date(since + HOUR).toISOString(), deploy }, before)).toBe(0);
    expect(before.lines.join('\n')).toContain(`1 account(s) of epoch live have waited behind a gap since before --from (the oldest since ${new Date(since).toISOString()})`);
    const after = recordingIO();
    expect(await replay(target, { destination: 'fraud', from: new Date(since - HOUR).toISOString(), deploy }, after)).toBe(0);
    expect(after.lines.join('\n')).not.toContain('waited behind a gap');
  });

  it('with --apply writes the replay into the configuration file and deploys it', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'fanout-replay-')), 'pipeline.json');
    writeFileSync(file, JSON.stringify({ alarmEmails: ['oncall@example.com'], destinations: { search: { batchSize: 500 } } }));
    const from = new Date(Date.now() - 2 * HOUR).toISOString();
    const io = recordingIO(true);
    const before = Date.now();
    expect(await replay(aws(), { destination: 'fraud', from, epoch: 'replay-7', configFile: file, apply: true, deploy }, io), io.errors.join('\n')).toBe(0);
    const written = JSON.parse(readFileSync(file, 'utf8'));
    expect(written).toMatchObject({
      alarmEmails: ['oncall@example.com'],
      destinations: { search: { batchSize: 500 }, fraud: { epoch: 'replay-7', startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: replayReadStart(from), replayFrom: from } },
    });
    expect(Date.parse(from) - Date.parse(written.destinations.fraud.startingPositionTimestamp)).toBe(REPLAY_READ_MARGIN_SECONDS * 1000);
    expect(parsePipelineConfig(written, file).destinations.fraud.replayFrom).toBe(from);
    expect(Date.parse(written.destinations.fraud.replayBefore)).toBeGreaterThanOrEqual(before - 1);
    expect(parsePipelineConfig(written, file).destinations.fraud).toMatchObject({ epoch: 'replay-7', replayBefore: written.destinations.fraud.replayBefore });
    expect(deploys).toEqual([['deploy', 'OrderedFanout', '-c', `ordered-fanout:config-file=${file}`, '--require-approval', 'never']]);
    const output = JSON.parse(io.lines.at(-1)!);
    expect(output).toMatchObject({ applied: true, plan: { destination: 'fraud', next: { epoch: 'replay-7', startingPositionTimestamp: replayReadStart(from), replayFrom: from } } });
  });

  it.each([
    ['a time in the future', { from: new Date(Date.now() + HOUR).toISOString() }, /in the future/],
    ['a time older than the retention', { from: new Date(Date.now() - 48 * HOUR).toISOString() }, /older than the stream's retention of 24 h/],
    ['no ISO time', { from: 'yesterday' }, /--from must be an ISO 8601 time/],
    ['an epoch that cannot be a ledger key', { epoch: 'replay#1' }, /--epoch must be 1-63 letters/],
    ['the current epoch', { epoch: 'live' }, /current epoch/],
    ['an epoch used before', { destination: 'fraud' as const, epoch: 'replay-7' }, /--epoch replay-7 was used before: OrderingLedger holds fraud items under it \(account acct-2, the first found\)/],
  ])('refuses %s, naming it, and deploys nothing', async (_name, overrides, message) => {
    const file = join(mkdtempSync(join(tmpdir(), 'fanout-replay-')), 'pipeline.json');
    const io = recordingIO();
    const count = deploys.length;
    const options = { destination: 'search' as 'search' | 'fraud', from: new Date(Date.now() - HOUR).toISOString(), configFile: file, apply: true, deploy, ...overrides };
    expect(await replay(aws(24, ['replay-7']), options, io)).toBe(2);
    expect(io.errors.join('\n')).toMatch(message);
    expect(existsSync(file)).toBe(false);
    expect(deploys).toHaveLength(count);
  });
});
