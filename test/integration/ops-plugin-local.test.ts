import { parsePipelineConfig } from '../../infra/config/load-config';
import type { LedgerQueueMessage } from '../../destinations/ledger-queue/runtime';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ledgerQueue } from '../../destinations/ledger-queue';
import { QueueReader } from '../../local/standins/queue-reader';
import { ledgerQueueRuntime, type LedgerQueueSettings } from '../../destinations/ledger-queue/runtime';
import { toLambdaKinesisEvent } from '../../local/lambda-event';
import { LocalStateError, localStateOf, readLocalState, writeLocalState, type LocalState } from '../../local/pipeline/local-state';
import { runPipeline, type PipelineRun } from '../../local/pipeline/run-pipeline';
import { reconcile } from '../../ops/commands/reconcile';
import { redrive } from '../../ops/commands/redrive';
import { toKinesisInput } from '../../ops/commands/redrive-batches';
import { replay } from '../../ops/commands/replay';
import { status } from '../../ops/commands/status';
import { UnknownDestinationError } from '../../ops/destinations';
import { recordingIO } from '../../ops/io';
import { localTarget, type PipelineTarget } from '../../ops/target';
import { encodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
import type { AdapterContext } from '../../shared/destination-plugin/runtime-plugin';
import type { DeadLetter } from '../../shared/ordering/ports';
import { accountHistory } from '../support/histories';
import { TINY_RUN } from '../support/small-runs';

const execute = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const ALL = ['audit', 'search', 'fraud', 'ledger-queue'];

/** The one JSON document a command printed. */
const parsed = (io: { lines: string[] }) => JSON.parse(io.lines.join('\n'));

/** `fanout <args>` as a user runs it; resolves with its exit code and output whatever the code. */
async function fanout(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execute(join(ROOT, 'node_modules/.bin/tsx'), ['ops/main.ts', ...args], { cwd: ROOT, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('fanout on a local pipeline with a plug-in destination (ledger-queue)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ops-plugin-'));
  const stateFile = join(dir, 'local.json');
  const startedAt = new Date(Date.now() - 5_000).toISOString();
  let run: PipelineRun;
  let state: LocalState;
  let target: PipelineTarget;
  let queueUrl: string;

  beforeAll(async () => {
    run = await runPipeline({
      ...TINY_RUN,
      seed: 21,
      plugins: [ledgerQueue],
      // A plug-in's settings come from the configuration's plugins.<name>.settings, as the stack gives them.
      config: parsePipelineConfig({ plugins: { 'ledger-queue': { settings: { batchSize: 37 } } } }, 'test'),
      dynamodbEndpoint: inject('dynamodbEndpoint'),
    });
    state = localStateOf(run.env, run.config);
    writeLocalState(state, stateFile);
    target = localTarget(state);
    queueUrl = state.destinations['ledger-queue']?.environment.LEDGER_QUEUE_URL as string;
  });

  afterAll(async () => {
    await target?.close();
    await run?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the state file records every destination, the plug-in with its mode, handler, environment, queue and consumer', () => {
    expect(run.report.ok).toBe(true);
    expect(state.format).toBe(2);
    expect(Object.keys(state.destinations)).toEqual(ALL);
    expect(state.destinations['ledger-queue']).toMatchObject({
      name: 'ledger-queue',
      mode: 'in-order',
      functionName: 'ordered-fanout-ledger-queue',
      handler: expect.stringMatching(/destinations\/ledger-queue\/handler\.ts$/),
      sweeper: expect.stringMatching(/destinations\/ledger-queue\/sweeper\.ts$/),
      deadLetterQueueUrl: run.env.resources.deadLetterQueues['ledger-queue'],
      streamConsumerArn: run.env.resources.streamConsumers['ledger-queue'],
      settings: { epoch: 'live', startingPosition: 'TRIM_HORIZON', batchSize: 37 },
    });
    expect(queueUrl).toMatch(/\.fifo$/);
    expect(state.destinations.audit?.handler).toMatch(/consumers\/audit\/handler\.ts$/);
    expect(readLocalState(stateFile)).toEqual(JSON.parse(JSON.stringify(state)));
    expect(target.destinations['ledger-queue']).toMatchObject({ mode: 'in-order', epoch: 'live', deadLetterQueueUrl: run.env.resources.deadLetterQueues['ledger-queue'] });
  });

  it('reads a state file of the format before (the three built-ins), and refuses one it does not know, saying what to do', () => {
    const { format: _format, destinations, ...rest } = state;
    const old = join(dir, 'old.json');
    const functionEnvironments = Object.fromEntries(['audit', 'search', 'fraud'].map((name) => [name, destinations[name]?.environment]));
    writeFileSync(old, JSON.stringify({ ...rest, functionEnvironments }));
    const upgraded = readLocalState(old);
    expect(Object.keys(upgraded.destinations)).toEqual(['audit', 'search', 'fraud']);
    expect(upgraded.destinations.fraud).toMatchObject({ mode: 'in-order', handler: expect.stringMatching(/consumers\/fraud\/handler\.ts$/), environment: destinations.fraud?.environment });
    expect(upgraded).not.toHaveProperty('functionEnvironments');

    const newer = join(dir, 'newer.json');
    writeFileSync(newer, JSON.stringify({ ...state, format: 3 }));
    expect(() => readLocalState(newer)).toThrow(LocalStateError);
    expect(() => readLocalState(newer)).toThrow(/format 3.*restart npm start -- --keep-running/);
  });

  it('the command line takes a plug-in name and runs status and reconcile on it; an unknown name fails naming the known ones', { timeout: 180_000 }, async () => {
    const shown = await fanout(['status', '--state-file', stateFile, '--destination', 'ledger-queue', '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    const doc = JSON.parse(shown.stdout);
    expect(Object.keys(doc.destinations)).toEqual(['ledger-queue']);
    expect(doc.destinations['ledger-queue']).toMatchObject({ mode: 'in-order', consumerStatus: 'ACTIVE', accountsBehind: 0, versionsBehind: 0 });

    const checked = await fanout(['reconcile', '--state-file', stateFile, '--destination', 'ledger-queue', '--contents']);
    expect(checked.code, checked.stderr).toBe(0);
    expect(checked.stdout).toContain('ledger-queue: contents not checked: ledger-queue has no reconcile reader');
    expect(checked.stdout).toMatch(/RESULT: OK/);

    // The runtime half of a plug-in of your own app, from its module: here one whose reader finds nothing at all.
    const module = join(dir, 'own-runtime.mjs');
    writeFileSync(
      module,
      `export const ownRuntime = { name: 'ledger-queue', mode: 'in-order', readSettings: () => ({}), createDestination: () => { throw new Error('not delivering'); },
        reconcileReader: () => ({ read: async () => null, close() {} }) };`,
    );
    const read = await fanout(['reconcile', '--state-file', stateFile, '--destination', 'ledger-queue', '--contents', '--runtime', module, '--json']);
    expect(read.code, read.stderr).toBe(1);
    const contents = JSON.parse(read.stdout).destinations['ledger-queue'].contents;
    expect(contents.checked).toBe(true);
    expect(contents.mismatched.length).toBeGreaterThan(0);
    expect(contents.mismatched.every((one: { found: unknown }) => one.found === null)).toBe(true);
    const empty = join(dir, 'empty.mjs');
    writeFileSync(empty, 'export const nothing = 1;');
    const refused = await fanout(['reconcile', '--state-file', stateFile, '--contents', '--runtime', empty]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`--runtime ${empty}: exports no runtime half`);

    const unknown = await fanout(['redrive', 'nowhere', '--state-file', stateFile, '--dry-run']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`no destination "nowhere" in local pipeline (pid ${process.pid}): it has ${ALL.join(', ')}`);
  });

  it('status shows the plug-in beside the built-ins: its mode, consumer, lag and dead letters', async () => {
    const json = recordingIO(true);
    expect(await status(target, {}, json)).toBe(0);
    const doc = parsed(json);
    expect(Object.keys(doc.destinations)).toEqual(ALL);
    expect(doc.versions).toBe(run.report.changes);
    for (const name of ALL) {
      expect(doc.destinations[name], name).toMatchObject({ accountsBehind: 0, versionsBehind: 0, watermarkVersions: run.report.changes, parked: 0, deadLetters: { total: 0 }, errors: [] });
    }
    expect(doc.destinations['ledger-queue']).toMatchObject({ mode: 'in-order', consumerStatus: 'ACTIVE', consumerArn: state.destinations['ledger-queue']?.streamConsumerArn });

    const human = recordingIO();
    expect(await status(target, { destination: 'ledger-queue' }, human)).toBe(0);
    expect(human.lines.find((line) => line.startsWith('ledger-queue '))).toMatch(/^ledger-queue\s+in-order\s+live\s+TRIM_HORIZON\s+ACTIVE\s+0\s+0\s+0\s+-\s+0\s+0\s+0\s/);
    await expect(status(target, { destination: 'nowhere' }, recordingIO())).rejects.toThrow(UnknownDestinationError);
  });

  it("reconcile compares the plug-in's ledger, reads its contents through its reconcile reader when it has one, and says so when not", async () => {
    const plain = recordingIO(true);
    expect(await reconcile(target, { contents: true }, plain)).toBe(0);
    const doc = parsed(plain);
    expect(Object.keys(doc.destinations)).toEqual(ALL);
    expect(doc.destinations['ledger-queue']).toMatchObject({ mode: 'in-order', inSync: true, missing: [], lagging: [], contents: { checked: false } });
    expect(doc.destinations['ledger-queue'].contents.note).toMatch(/no reconcile reader .*only the ledger was compared/);

    // A reader through the plug-in interface: what the receiver got (the pipeline's read-back), one account lost.
    const held = new Map<string, number>();
    for (const { accountId, version } of run.accepted['ledger-queue'] ?? []) held.set(accountId, Math.max(version, held.get(accountId) ?? 0));
    const [lost] = [...held.keys()];
    held.delete(lost as string);
    const calls: { settings: LedgerQueueSettings; context: AdapterContext }[] = [];
    let closed = 0;
    const withReader = {
      ...ledgerQueueRuntime,
      reconcileReader: (settings: LedgerQueueSettings, context: AdapterContext) => {
        calls.push({ settings, context });
        return { read: async ({ accountId }: { accountId: string }) => held.get(accountId) ?? null, close: () => void (closed += 1) };
      },
    };
    const io = recordingIO(true);
    expect(await reconcile(target, { destination: 'ledger-queue', contents: true, runtimes: { 'ledger-queue': withReader } }, io)).toBe(1);
    const found = parsed(io).destinations['ledger-queue'];
    expect(found.contents).toEqual({ checked: true, mismatched: [{ accountId: lost, version: expect.any(Number), found: null }] });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.settings.queueUrl).toBe(queueUrl);
    // Where the function's own SQS client goes (the stand-in's fault proxy in front of fauxqs).
    const sqsEndpoint = state.destinations['ledger-queue']?.environment.AWS_ENDPOINT_URL_SQS;
    expect(calls[0]?.context.clientConfig('AWS_ENDPOINT_URL_SQS')).toMatchObject({ endpoint: sqsEndpoint, credentials: { accessKeyId: expect.any(String) } });
    expect(closed).toBe(1);

    const human = recordingIO();
    expect(await reconcile(target, { destination: 'ledger-queue', contents: true, runtimes: { 'ledger-queue': withReader } }, human)).toBe(1);
    expect(human.lines.join('\n')).toContain(`ledger-queue: 1 mismatched in the destination\n  ${lost}`);

    const refused = recordingIO();
    expect(await reconcile(target, { destination: 'ledger-queue', repair: true }, refused)).toBe(2);
    expect(refused.errors.join('\n')).toMatch(/refused for ledger-queue \(in-order\): only latest-state destinations \(search\).*in order, so use a replay or a redrive/);
  });

  it("redrive drains the plug-in's dead-letter queue through its own handler: a failed version, and a gap skipped with a reason", { timeout: 120_000 }, async () => {
    const reader = new QueueReader<LedgerQueueMessage>(run.env.sqs, queueUrl);
    await reader.drain();
    const before = reader.received.length;
    const table = run.env.resources.accountsTable;
    const invoke = (records: ReturnType<typeof accountHistory>) =>
      target.invoke('ledger-queue', toLambdaKinesisEvent(records.map((record) => toKinesisInput(record, table, 'us-east-1')), { region: 'us-east-1', streamArn: target.streamArn }));
    const failed = accountHistory('LQ-FAILED', 2);
    const gap = accountHistory('LQ-GAP', 5);
    expect(await invoke([failed[0]!, gap[0]!, gap[3]!, gap[4]!])).toEqual({ batchItemFailures: [] });

    const at = Date.now() - 1_000;
    const letters: DeadLetter[] = [
      { destination: 'ledger-queue', epoch: 'live', reason: 'DELIVERY_FAILED', detail: 'queue down', attempts: 6, accountId: 'LQ-FAILED', version: 2, record: failed[1]!, at },
      { destination: 'ledger-queue', epoch: 'live', reason: 'GAP_TIMEOUT', detail: 'versions 2-3 were not received', attempts: 0, accountId: 'LQ-GAP', version: 2, missing: [[2, 3]], waiting: 2, at },
    ];
    const dlq = state.destinations['ledger-queue']?.deadLetterQueueUrl as string;
    for (const letter of letters) await run.env.sqs.send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: encodeDeadLetter(letter) }));

    const dry = recordingIO(true);
    expect(await redrive(target, { destination: 'ledger-queue', dryRun: true }, dry)).toBe(0);
    expect(parsed(dry)).toMatchObject({ destination: 'ledger-queue', total: { received: 2, redriven: 2, deleted: 0 } });

    const io = recordingIO();
    const code = await redrive(target, { destination: 'ledger-queue', skipGaps: [{ accountId: 'LQ-GAP', through: 3 }], reason: 'lost in test' }, io);
    expect(code, io.lines.join('\n')).toBe(0);
    expect(io.lines).toContain('skip-gap LQ-GAP@3: skipped versions 2-3, then delivered 2 that waited behind them');
    expect(io.lines).toContain('gap timeout: account LQ-GAP (epoch live) versions 2-3: resolved since (letter deleted)');
    const { Attributes } = await run.env.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(Number(Attributes?.ApproximateNumberOfMessages)).toBe(0);

    // The FIFO queue got each account's versions in order, as its receiver would read them.
    await reader.drain();
    const versionsOf = (accountId: string) => reader.received.slice(before).filter(({ body }) => body.accountId === accountId).map(({ body }) => body.version);
    expect(versionsOf('LQ-FAILED')).toEqual([1, 2]);
    expect(versionsOf('LQ-GAP')).toEqual([1, 4, 5]);
  });

  it('replay plans a plug-in by its mode and, locally, replays it through its own handler under a new epoch', { timeout: 180_000 }, async () => {
    const plan = recordingIO();
    expect(await replay(target, { destination: 'ledger-queue', from: startedAt }, plan)).toBe(0);
    const text = plan.lines.join('\n');
    expect(text).toContain('ledger-queue: every version is sent again, in order per account');
    expect(text).toMatch(/others\s+audit, search, fraud: nothing changes/);

    const io = recordingIO(true);
    expect(await replay(target, { destination: 'ledger-queue', from: startedAt, epoch: 'lq-replay-1', apply: true, timeoutSeconds: 120 }, io), io.errors.join('\n')).toBe(0);
    const outcome = JSON.parse(io.lines.at(-1) as string);
    expect(outcome).toMatchObject({ applied: true, plan: { destination: 'ledger-queue', mode: 'in-order', next: { epoch: 'lq-replay-1' } }, local: { caughtUp: true } });
    expect(outcome.local.metrics.Delivered).toBe(run.report.changes);
    // The live epoch is untouched.
    const after = recordingIO(true);
    expect(await status(target, { destination: 'ledger-queue' }, after)).toBe(0);
    expect(parsed(after).destinations['ledger-queue']).toMatchObject({ epoch: 'live', accountsBehind: 0 });
  });

});
