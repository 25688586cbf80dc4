import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { RecordingDestination } from '../../local/recording-destination';
import { toLambdaKinesisEvent } from '../../local/lambda-event';
import { redrive } from '../../ops/commands/redrive';
import { stillFailingAfterRedrive, type RedriveObservations } from '../../ops/commands/redrive-judge';
import { recordingIO } from '../../ops/io';
import type { PipelineTarget } from '../../ops/target';
import { ChangeConsumer } from '../../shared/consumer/change-consumer';
import type { AccountView, OperatorCommand } from '../../shared/consumer/operator-command';
import { encodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
import { InMemoryLedger } from '../../shared/ledger/in-memory-ledger';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { DeadLetter, DeadLetterQueue } from '../../shared/ordering/ports';
import { kdsRecord } from '../support/kds-payload';

/** A dead-letter queue in memory, answering the calls `redrive` makes as SQS does (visibility timeouts included). */
class FakeQueue {
  readonly messages: { id: string; body: string; invisibleUntil: number; handle: string }[] = [];
  readonly calls: string[] = [];
  /** How long each call takes, and how far the queue's time has moved beyond the real clock: runs that outlast a visibility. */
  callMs = 0;
  /** Messages in flight at most (SQS: about 120,000 a standard queue). */
  inFlightLimit = Number.POSITIVE_INFINITY;
  elapsedMs = 0;
  readonly now = (): number => Date.now() + this.elapsedMs;
  #next = 0;

  add(body: string): void {
    this.messages.push({ id: `m-${(this.#next += 1)}`, body, invisibleUntil: 0, handle: '' });
  }

  readonly sqs = {
    send: async (command: object): Promise<unknown> => {
      this.calls.push(command.constructor.name);
      this.elapsedMs += this.callMs;
      const now = this.now();
      if (command instanceof GetQueueAttributesCommand) return { Attributes: { ApproximateNumberOfMessages: String(this.messages.filter((m) => m.invisibleUntil <= now).length) } };
      if (command instanceof ReceiveMessageCommand) {
        const { MaxNumberOfMessages = 1, VisibilityTimeout = 30 } = command.input;
        // As SQS: at its in-flight limit a long poll answers with nothing.
        if (this.messages.filter((m) => m.invisibleUntil > now).length >= this.inFlightLimit) return { Messages: [] };
        const taken = this.messages.filter((m) => m.invisibleUntil <= now).slice(0, MaxNumberOfMessages);
        const Messages: Message[] = taken.map((m) => {
          m.invisibleUntil = now + VisibilityTimeout * 1000;
          m.handle = `${m.id}#${(this.#next += 1)}`;
          return { MessageId: m.id, ReceiptHandle: m.handle, Body: m.body };
        });
        return { Messages };
      }
      if (command instanceof DeleteMessageBatchCommand) {
        for (const { ReceiptHandle } of command.input.Entries ?? []) {
          const index = this.messages.findIndex((m) => m.handle === ReceiptHandle);
          if (index >= 0) this.messages.splice(index, 1);
        }
        return { Successful: command.input.Entries?.map(({ Id }) => ({ Id })), Failed: [] };
      }
      if (command instanceof ChangeMessageVisibilityBatchCommand) {
        const Failed: { Id: string; Code: string; SenderFault: boolean }[] = [];
        for (const { Id, ReceiptHandle, VisibilityTimeout = 0 } of command.input.Entries ?? []) {
          const message = this.messages.find((m) => m.handle === ReceiptHandle);
          // As SQS: only a message in flight (received, still hidden) by its latest receipt handle.
          if (message && message.invisibleUntil > now) message.invisibleUntil = now + VisibilityTimeout * 1000;
          else Failed.push({ Id: Id as string, Code: 'AWS.SimpleQueueService.MessageNotInflight', SenderFault: true });
        }
        return { Successful: [], Failed };
      }
      throw new Error(`FakeQueue: ${command.constructor.name} not expected`);
    },
  } as unknown as SQSClient;
}

const image = (accountId: string, version: number) => ({ account_id: accountId, balance: 100 + version, currency: 'AUD', status: 'OPEN', version });
const STREAM = 'arn:aws:kinesis:us-east-1:0:stream/s';

/**
 * A destination's function as `redrive` sees it: the real consumer (engine, in-memory ledger) behind `command`, its
 * dead-letter queue the fake queue, its destination failing every call until `heal()`.
 */
function pipeline(name = 'fraud', mode: DeliveryMode = 'in-order') {
  const queue = new FakeQueue();
  const destination = new RecordingDestination(name, mode);
  let failing = true;
  destination.intercept = () => (failing ? { status: 'failed', reason: 'DELIVERY_FAILED', detail: 'the bus is down', attempts: 3 } : undefined);
  const deadLetters: DeadLetterQueue = {
    async send(letters) {
      for (const letter of letters) queue.add(encodeDeadLetter(letter));
      return letters.map(() => true);
    },
  };
  const consumer = new ChangeConsumer({ destination, ledger: new InMemoryLedger({ destination: name, epoch: 'live' }), deadLetters, accountsTable: 'Accounts' });
  const commands: OperatorCommand[] = [];
  const target = {
    kind: 'local',
    description: 'fake pipeline',
    accountsTable: 'Accounts',
    ledgerTable: 'Ledger',
    streamArn: STREAM,
    destinations: { [name]: { name, mode, functionName: name, epoch: 'live', startingPosition: 'TRIM_HORIZON', streamConsumerArn: `${STREAM}/consumer/${name}`, deadLetterQueueUrl: `queue-${name}` } },
    sqs: queue.sqs,
    command: async (_destination: string, command: OperatorCommand) => {
      commands.push(command);
      return (await consumer.command(command)).result;
    },
    close: async () => undefined,
  } as unknown as PipelineTarget;
  /** The first version of `accounts` accounts, sent while the destination fails: one DELIVERY_FAILED letter each. */
  const deadLetter = async (accounts: number): Promise<void> => {
    const inputs = Array.from({ length: accounts }, (_, i) =>
      kdsRecord({ kind: 'INSERT', newImage: image(`ACC-${i}`, 1), tableName: 'Accounts' }, { sequenceNumber: String(100 + i), shardId: 'shardId-000000000001' }),
    );
    await consumer.command({ command: 'redrive', records: toLambdaKinesisEvent(inputs, { region: 'us-east-1', streamArn: STREAM }).Records });
    commands.length = 0;
    // Written before the redrive starts (a letter of the run's own time would be taken for one it dead-lettered).
    await new Promise((resolve) => setTimeout(resolve, 5));
  };
  return { queue, destination, target, commands, deadLetter, heal: () => void (failing = false) };
}

const json = (io: { lines: string[] }) => JSON.parse(io.lines[0] ?? '{}');

describe('fanout redrive --max', () => {
  it('does not report drained when the letters it redrove were dead-lettered again', async () => {
    const { queue, target, deadLetter } = pipeline();
    await deadLetter(5);
    expect(queue.messages).toHaveLength(5);

    const io = recordingIO(true);
    const code = await redrive(target, { destination: 'fraud', max: 2, settleMs: 0 }, io);
    expect(json(io)).toMatchObject({ drained: false, total: { received: 2, redriven: 2, stillFailing: 2, deleted: 2 } });
    expect(json(io).failures).toHaveLength(2);
    expect(code).toBe(1);
    // The two originals were deleted and the function wrote them again: the queue still holds five.
    expect(queue.messages).toHaveLength(5);

    const text = recordingIO();
    expect(await redrive(target, { destination: 'fraud', max: 2, settleMs: 0 }, text)).toBe(1);
    expect(text.lines.at(-1)).toBe('RESULT: 2 still failing (left in the queue)');
  });

  it('counts a letter dead-lettered again once, whether or not the run reads it back', async () => {
    const { queue, target, deadLetter } = pipeline();
    await deadLetter(5);
    const io = recordingIO(true);
    expect(await redrive(target, { destination: 'fraud', settleMs: 0 }, io)).toBe(1);
    expect(json(io)).toMatchObject({ drained: false, total: { received: 5, redriven: 5, stillFailing: 5, deleted: 5 } });
    expect(json(io).newLetters).toBeUndefined();
    expect(queue.messages).toHaveLength(5);
  });

  it('reports drained once the destination takes them again, leaving the rest', async () => {
    const { queue, destination, target, deadLetter, heal } = pipeline();
    await deadLetter(5);
    heal();
    const io = recordingIO();
    expect(await redrive(target, { destination: 'fraud', max: 2, settleMs: 0 }, io), io.lines.join('\n')).toBe(0);
    expect(io.lines.at(-1)).toBe('RESULT: drained (2 redriven, 0 left aside)');
    expect(destination.received).toHaveLength(2);
    expect(queue.messages).toHaveLength(3);
  });
});

describe('stillFailingAfterRedrive', () => {
  const view = (accountId: string, over: Partial<AccountView> = {}): AccountView => ({ accountId, state: 'in-step', version: 0, parked: [], owed: [], skipped: [], skips: [], ...over });
  const seen = (views: AccountView[], over: Partial<RedriveObservations> = {}): RedriveObservations => ({
    mode: 'in-order',
    views: new Map(views.map((v) => [v.accountId, v])),
    lettersStored: 1,
    readBack: new Set(),
    ...over,
  });
  const letter = (accountId: string, version: number) => ({ key: `${accountId}#${version}`, reason: 'DELIVERY_FAILED', accountId, version });

  it('takes a version the account still owes (and has not parked) for one dead-lettered again', () => {
    const failed = stillFailingAfterRedrive(
      [letter('A', 3), letter('B', 1), letter('C', 2)],
      seen([view('A', { version: 2, owed: [[3, 3]], state: 'blocked-on-failure' }), view('B', { version: 1 }), view('C', { version: 1, owed: [[2, 2]], parked: [[2, 2]], state: 'parked-behind-gap' })]),
    );
    expect([...failed.keys()]).toEqual(['A#3']);
    expect(failed.get('A#3')).toMatch(/still owes version 3 \(state blocked-on-failure\)/);
  });

  it('every-version: an owed version is one the destination still lacks, below the watermark too', () => {
    const failed = stillFailingAfterRedrive([letter('A', 2), letter('B', 2)], seen([view('A', { version: 5, owed: [[2, 2]] }), view('B', { version: 5 })], { mode: 'every-version' }));
    expect([...failed.keys()]).toEqual(['A#2']);
  });

  it('latest-state: the account has not reached its newest redriven version', () => {
    const letters = [letter('A', 2), letter('A', 3), letter('B', 4)];
    const failed = stillFailingAfterRedrive(letters, seen([view('A', { version: 1 }), view('B', { version: 4 })], { mode: 'latest-state' }));
    expect([...failed.keys()]).toEqual(['A#3']);
  });

  it('nothing failed again when the function stored no letter, however the views look', () => {
    expect(stillFailingAfterRedrive([letter('A', 3)], seen([view('A', { version: 2, owed: [[3, 3]] })], { lettersStored: 0 })).size).toBe(0);
  });

  it('a letter read back from the queue, or a bad record the decoder still refuses, failed again', () => {
    const failed = stillFailingAfterRedrive(
      [letter('A', 3), { key: 'bad#1', reason: 'BAD_RECORD', undecodable: true }],
      seen([], { lettersStored: 0, readBack: new Set(['A#3']) }),
    );
    expect([...failed.keys()].sort()).toEqual(['A#3', 'bad#1']);
  });
});

describe('fanout redrive refusals', () => {
  it('refuses --skip-gap for a destination that is not in-order, before doing anything (exit 2)', async () => {
    for (const [name, mode] of [['audit', 'every-version'], ['search', 'latest-state']] as const) {
      const { queue, target, commands } = pipeline(name, mode);
      queue.add(encodeDeadLetter({ destination: name, epoch: 'live', reason: 'GAP_TIMEOUT', detail: 'never came', attempts: 0, accountId: 'X', missing: [[1, 1]], at: Date.now() - 1_000 }));
      const io = recordingIO();
      expect(await redrive(target, { destination: name, skipGaps: [{ accountId: 'X', through: 1 }], reason: 't' }, io)).toBe(2);
      expect(io.errors.join('\n')).toMatch(new RegExp(`--skip-gap is for in-order destinations: ${name} is ${mode}`));
      expect(io.lines).toEqual([]);
      expect(commands).toEqual([]);
      expect(queue.calls).toEqual([]);
    }
  });

  it('refuses --reason without --skip-gap (exit 2)', async () => {
    const { queue, target, commands } = pipeline();
    const io = recordingIO();
    expect(await redrive(target, { destination: 'fraud', reason: 'lost' }, io)).toBe(2);
    expect(io.errors.join('\n')).toMatch(/--reason goes with --skip-gap/);
    expect([commands, queue.calls]).toEqual([[], []]);
  });

  it('says a skip was refused in the RESULT line', async () => {
    const { target, deadLetter, heal } = pipeline();
    heal();
    await deadLetter(1); // delivered: ACC-0 is at version 1, behind no gap
    const io = recordingIO();
    expect(await redrive(target, { destination: 'fraud', skipGaps: [{ accountId: 'ACC-0', through: 1 }], reason: 'lost' }, io)).toBe(1);
    expect(io.lines).toContainEqual(expect.stringMatching(/^skip-gap ACC-0@1: not skipped: /));
    expect(io.lines.at(-1)).toBe('RESULT: 0 still failing (left in the queue), 1 skip(s) refused');
  });
});

describe('fanout redrive and letters of an epoch a replay replaced', () => {
  it('leaves them aside by default, and deletes them with --acknowledge (the only end they have)', async () => {
    const { queue, target, commands } = pipeline();
    // Written under `before`, the epoch a replay replaced (the function runs `live` now): it cannot be redriven.
    const record = { accountId: 'OLD-1', version: 3, previousVersion: 2, kind: 'MODIFY', oldImage: image('OLD-1', 2), newImage: image('OLD-1', 3), createdAtMicros: Date.now() * 1000, eventId: 'e-3', sequenceNumber: '9', shardId: 'shardId-000000000001', payloadBytes: 100 };
    queue.add(encodeDeadLetter({ destination: 'fraud', epoch: 'before', reason: 'DELIVERY_FAILED', detail: 'down', attempts: 3, accountId: 'OLD-1', version: 3, record, at: Date.now() - 1_000 } as unknown as DeadLetter));

    const kept = recordingIO(true);
    expect(await redrive(target, { destination: 'fraud', settleMs: 0 }, kept)).toBe(0);
    expect(json(kept)).toMatchObject({ total: { received: 1, skipped: 1, deleted: 0 } });
    expect(json(kept).notes).toContainEqual(expect.stringMatching(/letters of epoch before left in the queue: .*--acknowledge DELIVERY_FAILED deletes them/));
    expect(queue.messages).toHaveLength(1);

    const acknowledged = recordingIO(true);
    expect(await redrive(target, { destination: 'fraud', acknowledge: ['DELIVERY_FAILED'], settleMs: 0 }, acknowledged)).toBe(0);
    expect(json(acknowledged)).toMatchObject({ total: { received: 1, skipped: 0, deleted: 1 } });
    expect(queue.messages).toHaveLength(0);
    // Never sent through the function: it runs another epoch.
    expect(commands).toEqual([]);
  });
});

describe('fanout redrive --dry-run', () => {
  it('reports a dry run, not a drained queue', async () => {
    const { queue, target, deadLetter, commands } = pipeline();
    await deadLetter(3);
    const io = recordingIO(true);
    expect(await redrive(target, { destination: 'fraud', dryRun: true }, io)).toBe(0);
    expect(json(io)).toMatchObject({ dryRun: true, drained: false, total: { received: 3, redriven: 3, deleted: 0 } });
    expect(commands).toEqual([]);
    expect(queue.messages).toHaveLength(3);
    const text = recordingIO();
    expect(await redrive(target, { destination: 'fraud', dryRun: true }, text)).toBe(0);
    expect(text.lines.at(-1)).toBe('RESULT: dry run, nothing drained: 3 of 3 letters would be sent through the engine');
  });
});

describe('fanout redrive outlasts a visibility timeout', () => {
  /** A letter of an older epoch: left in the queue, so the run holds it to the end. */
  const oldEpochNotice = (i: number): string =>
    encodeDeadLetter({ destination: 'fraud', epoch: 'before', reason: 'GAP_TIMEOUT', detail: 'gap', attempts: 1, accountId: `OLD-${i}`, missing: [[2, 2]], at: Date.now() - 60_000 } as unknown as DeadLetter);

  it('a dry run slower than 30 s of visibility counts every letter once (SQS shows a letter again once its visibility runs out)', async () => {
    const { queue, target } = pipeline();
    for (let i = 0; i < 1_000; i += 1) queue.add(oldEpochNotice(i));
    // One second a call: the first letters would be visible again after 30 calls, long before the last is read.
    queue.callMs = 1_000;
    const io = recordingIO(true);
    expect(await redrive(target, { destination: 'fraud', dryRun: true, clock: queue.now }, io)).toBe(0);
    expect(json(io).total).toMatchObject({ received: 1_000, skipped: 1_000 });
    expect(queue.messages).toHaveLength(1_000);
    // Made visible again at the end, every one.
    expect(queue.messages.filter((m) => m.invisibleUntil > queue.now())).toHaveLength(0);
  });

  it('reads the whole queue when its invocations take longer than the letters it leaves aside stay hidden', async () => {
    const { queue, target, deadLetter, heal, destination } = pipeline();
    // Left aside in the first round and held to the end; the redrivable letters come after them.
    for (let i = 0; i < 10; i += 1) queue.add(oldEpochNotice(i));
    await deadLetter(600);
    heal();
    // Each invocation takes 10 minutes: the first round's five outlast the 30 minutes a letter is hidden for.
    const command = target.command.bind(target);
    (target as { command: PipelineTarget['command'] }).command = async (name, operatorCommand) => {
      queue.elapsedMs += 10 * 60_000;
      return command(name, operatorCommand);
    };
    const io = recordingIO(true);
    expect(await redrive(target, { destination: 'fraud', settleMs: 0, clock: queue.now }, io)).toBe(0);
    expect(json(io).total).toMatchObject({ received: 610, redriven: 600, deleted: 600, skipped: 10 });
    expect(destination.received).toHaveLength(600);
    expect(queue.messages).toHaveLength(10);
  });
});

describe('fanout redrive when revisiting waiting accounts fails', () => {
  it('still reports what it redrove and deleted, and says the revisits failed', async () => {
    const { queue, target, deadLetter, heal } = pipeline();
    await deadLetter(2);
    heal();
    // The redriven versions wait behind a fence; Lambda then refuses the revisits (throttled past the SDK's retries).
    const command = target.command.bind(target);
    (target as { command: PipelineTarget['command'] }).command = async (name, operatorCommand) => {
      if (operatorCommand.command === 'resume') throw new Error('TooManyRequestsException: Rate Exceeded.');
      const answer = await command(name, operatorCommand);
      return { orderedFanout: { ...answer.orderedFanout, accounts: answer.orderedFanout.accounts.map((view) => ({ ...view, state: 'fenced' })) } };
    };
    const io = recordingIO(true);
    await redrive(target, { destination: 'fraud', settleMs: 5_000 }, io);
    const result = json(io);
    expect(result.total).toMatchObject({ received: 2, redriven: 2, deleted: 2 });
    expect(result.settled).toMatchObject({ accounts: 2, delivered: 0 });
    expect(result.settled.stillWaiting).toHaveLength(2);
    expect(result.notes).toContainEqual(expect.stringContaining('TooManyRequestsException'));
    expect(queue.messages).toHaveLength(0);
  });
});

describe('fanout redrive at SQS\'s in-flight limit', () => {
  it('says the rest of the queue was not read, and a redrive that left letters aside is not drained', async () => {
    const { queue, target } = pipeline();
    queue.inFlightLimit = 40;
    for (let i = 0; i < 50; i += 1) queue.add(encodeDeadLetter({ destination: 'fraud', epoch: 'before', reason: 'GAP_TIMEOUT', detail: 'gap', attempts: 1, accountId: `OLD-${i}`, missing: [[2, 2]], at: Date.now() - 60_000 } as unknown as DeadLetter));
    const dry = recordingIO(true);
    expect(await redrive(target, { destination: 'fraud', dryRun: true, inFlightLimit: 40 }, dry)).toBe(0);
    expect(json(dry).total).toMatchObject({ received: 40 });
    expect(json(dry).notes).toContainEqual(expect.stringContaining('as many as SQS keeps in flight'));
    const real = recordingIO(true);
    // The 40 letters of another epoch are left in the queue, held: the last 10 are never seen.
    expect(await redrive(target, { destination: 'fraud', inFlightLimit: 40, settleMs: 0 }, real)).toBe(1);
    expect(json(real)).toMatchObject({ drained: false, total: { received: 40, skipped: 40 } });
    expect(queue.messages).toHaveLength(50);
  });
});

describe('fanout redrive --acknowledge on an every-version destination', () => {
  it('writes the acknowledged versions off in the ledger before deleting the letters, so nothing reports them missing', async () => {
    const { queue, target, commands, deadLetter } = pipeline('audit', 'every-version');
    await deadLetter(2);
    const owedBefore = (await target.command('audit', { command: 'resume', accountIds: ['ACC-0'] })).orderedFanout.accounts[0];
    expect(owedBefore).toMatchObject({ owed: [[1, 1]], skipped: [] });
    commands.length = 0;

    const io = recordingIO(true);
    expect(await redrive(target, { destination: 'audit', acknowledge: ['DELIVERY_FAILED'], settleMs: 0 }, io)).toBe(0);

    expect(json(io)).toMatchObject({ total: { received: 2, deleted: 2, skipped: 0 } });
    expect(json(io).notes).toContainEqual(expect.stringMatching(/2 acknowledged version\(s\) of 2 account\(s\) written off/));
    expect(queue.messages).toHaveLength(0);
    expect(commands.map((command) => command.command)).toEqual(['write-off', 'write-off']);
    const after = (await target.command('audit', { command: 'resume', accountIds: ['ACC-0', 'ACC-1'] })).orderedFanout.accounts;
    for (const view of after) expect(view).toMatchObject({ owed: [], skipped: [[1, 1]], skips: [expect.objectContaining({ reason: 'acknowledged as lost (fanout redrive --acknowledge DELIVERY_FAILED)' })] });
  });

  it('keeps an account\'s letters when its write-off fails, and says so', async () => {
    const { queue, target, deadLetter } = pipeline('audit', 'every-version');
    await deadLetter(1);
    const command = target.command.bind(target);
    (target as { command: PipelineTarget['command'] }).command = async (destination, request) => {
      if (request.command === 'write-off') throw new Error('audit failed: Task timed out');
      return command(destination, request);
    };

    const io = recordingIO(true);
    await redrive(target, { destination: 'audit', acknowledge: ['DELIVERY_FAILED'], settleMs: 0 }, io);

    expect(json(io)).toMatchObject({ total: { received: 1, deleted: 0, skipped: 1 } });
    expect(json(io).notes).toContainEqual(expect.stringMatching(/could not be written off \(audit failed: Task timed out\); its acknowledged letters are kept/));
    expect(queue.messages).toHaveLength(1);
  });
});
