import { CreateQueueCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeLoopbackPort } from '../../local/emulators/free-port';
import type { BadRecord } from '../../shared/change-record/bad-record';
import { badRecordLetter, decodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
import { MAX_SQS_PAYLOAD_BYTES, SqsDeadLetterQueue } from '../../shared/dead-letter/sqs-dead-letter-queue';
import { DeadLetterQueueUnavailableError } from '../../shared/ordering/errors';
import type { DeadLetter } from '../../shared/ordering/ports';
import { Retrier } from '../../shared/retry/retrier';
import { accountHistory } from '../support/histories';

type Fauxqs = Awaited<ReturnType<typeof startFauxqs>>;

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const AT = 1_800_000_000_000;

let server: Fauxqs;
let endpoint: string;
let client: SQSClient;
let queues = 0;

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  endpoint = `http://127.0.0.1:${server.port}`;
  client = new SQSClient({ endpoint, region: 'us-east-1', credentials });
});

afterAll(async () => {
  client?.destroy();
  await server?.stop();
});

async function newQueue(): Promise<string> {
  queues += 1;
  const created = await client.send(new CreateQueueCommand({ QueueName: `dlq-${process.pid}-${queues}` }));
  return created.QueueUrl as string;
}

/** A retrier with tiny delays that records them. */
function quickRetrier(maxAttempts = 2): { retrier: Retrier; sleeps: number[] } {
  const sleeps: number[] = [];
  const retrier = new Retrier({
    policy: { maxAttempts, baseDelayMs: 1, maxDelayMs: 5 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
  return { retrier, sleeps };
}

/** Receives until `count` messages arrived or the queue stays empty. */
async function receiveAll(queueUrl: string, count: number): Promise<Message[]> {
  const messages: Message[] = [];
  for (let empty = 0; messages.length < count && empty < 3; ) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], VisibilityTimeout: 60, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) empty += 1;
    messages.push(...Messages);
  }
  return messages;
}

/** A mix of the three kinds of letter, each with its own sequence number so it can be found again. */
function letters(count: number): DeadLetter[] {
  return Array.from({ length: count }, (_, i): DeadLetter => {
    const accountId = `ACC-${i}`;
    if (i % 3 === 0) {
      const record = accountHistory(accountId, 3, { shardId: 'shardId-000000000001' })[1]!;
      return {
        destination: 'audit',
        epoch: 'live',
        reason: 'DELIVERY_FAILED',
        detail: `ThrottlingException (HTTP 400): Rate exceeded (gave up after 6 attempts) #${i}`,
        attempts: 6,
        accountId,
        version: record.version,
        sequenceNumber: record.sequenceNumber,
        shardId: record.shardId,
        record,
        at: AT + i,
      };
    }
    if (i % 3 === 1) {
      return {
        destination: 'audit',
        epoch: 'live',
        reason: 'GAP_TIMEOUT',
        detail: `versions 3, 4 never arrived #${i}`,
        attempts: 1,
        accountId,
        version: 5,
        sequenceNumber: `${accountId}-seq-5`,
        shardId: 'shardId-000000000001',
        missing: [[3, 4]],
        at: AT + i,
      };
    }
    const bad: BadRecord = {
      reason: 'VERSION_JUMP',
      detail: `A MODIFY went from version 2 to 4, not 3. #${i}`,
      sequenceNumber: `4965000000000000000000000000000000000000000000000000${i}`,
      shardId: 'shardId-000000000001',
      // Some bad records could not even say which account they were.
      ...(i % 2 === 0 ? { accountId, version: 4 } : {}),
      data: Buffer.from(`{"broken": ${i}`).toString('base64'),
    };
    return badRecordLetter(bad, 'audit', 'live', AT + i);
  });
}

describe('SqsDeadLetterQueue on fauxqs', () => {
  it('stores every letter, which comes back whole with its attributes', async () => {
    const queueUrl = await newQueue();
    const queue = new SqsDeadLetterQueue({ client, queueUrl, retrier: quickRetrier().retrier });
    const sent = letters(23);

    expect(await queue.send(sent)).toEqual(sent.map(() => true));

    const messages = await receiveAll(queueUrl, 23);
    expect(messages).toHaveLength(23);
    const bySequence = new Map(sent.map((letter) => [letter.sequenceNumber, letter]));
    for (const message of messages) {
      const received = decodeDeadLetter(message.Body as string);
      const original = bySequence.get(received.sequenceNumber);
      expect(received).toEqual(original);
      bySequence.delete(received.sequenceNumber);
      const attributes = message.MessageAttributes ?? {};
      expect(attributes.reason).toMatchObject({ DataType: 'String', StringValue: received.reason });
      expect(attributes.destination).toMatchObject({ DataType: 'String', StringValue: 'audit' });
      expect(attributes.epoch).toMatchObject({ DataType: 'String', StringValue: 'live' });
      if (received.accountId === undefined) {
        expect(attributes.accountId).toBeUndefined();
        expect(attributes.version).toBeUndefined();
      } else {
        expect(attributes.accountId).toMatchObject({ DataType: 'String', StringValue: received.accountId });
        expect(attributes.version).toMatchObject({ DataType: 'Number', StringValue: String(received.version) });
      }
    }
    expect(bySequence.size).toBe(0);
    // The whole change record survived the trip, images included.
    const failed = messages.map((m) => decodeDeadLetter(m.Body as string)).find((l) => l.reason === 'DELIVERY_FAILED');
    expect(failed?.record).toMatchObject({ kind: 'MODIFY', version: 2, oldImage: { version: 1 }, newImage: { version: 2 } });
    const badOnes = messages.map((m) => decodeDeadLetter(m.Body as string)).filter((l) => l.reason === 'BAD_RECORD');
    expect(badOnes).toHaveLength(7);
    for (const letter of badOnes) expect(letter.detail).toMatch(/^VERSION_JUMP: /);
  });

  it('answers false for a letter too large for SQS and stores the others', async () => {
    const queueUrl = await newQueue();
    const queue = new SqsDeadLetterQueue({ client, queueUrl, retrier: quickRetrier().retrier });
    const [first, second, third] = letters(3) as [DeadLetter, DeadLetter, DeadLetter];
    const huge: DeadLetter = { ...second, detail: 'x'.repeat(MAX_SQS_PAYLOAD_BYTES) };

    expect(await queue.send([first, huge, third])).toEqual([true, false, true]);

    const received = (await receiveAll(queueUrl, 2)).map((message) => decodeDeadLetter(message.Body as string));
    expect(received.map((letter) => letter.sequenceNumber).sort()).toEqual([first.sequenceNumber, third.sequenceNumber].sort());
  });

  it('packs two large letters that fit SQS alone but not together into separate batches', async () => {
    const queueUrl = await newQueue();
    const queue = new SqsDeadLetterQueue({ client, queueUrl, retrier: quickRetrier().retrier });
    const [first, second] = letters(2) as [DeadLetter, DeadLetter];
    const big = (letter: DeadLetter): DeadLetter => ({ ...letter, detail: 'y'.repeat(600_000) });

    expect(await queue.send([big(first), big(second)])).toEqual([true, true]);
    expect(await receiveAll(queueUrl, 2)).toHaveLength(2);
  });

  it('throws DeadLetterQueueUnavailableError for a queue that does not exist, without retrying a refusal', async () => {
    const { retrier, sleeps } = quickRetrier(2);
    const queueUrl = `${endpoint}/000000000000/no-such-queue-${process.pid}`;
    const queue = new SqsDeadLetterQueue({ client, queueUrl, retrier });

    const sending = queue.send(letters(2));

    await expect(sending).rejects.toBeInstanceOf(DeadLetterQueueUnavailableError);
    await expect(sending).rejects.toThrow(queueUrl);
    expect(sleeps).toEqual([]);
  });

  it('throws DeadLetterQueueUnavailableError after its retries when nothing listens', async () => {
    const port = await freeLoopbackPort();
    const unreachable = new SQSClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials, maxAttempts: 1 });
    const { retrier, sleeps } = quickRetrier(2);
    const queue = new SqsDeadLetterQueue({ client: unreachable, queueUrl: `http://127.0.0.1:${port}/000000000000/dlq`, retrier });
    try {
      const sending = queue.send(letters(3));
      await expect(sending).rejects.toBeInstanceOf(DeadLetterQueueUnavailableError);
      await expect(sending).rejects.toThrow(/ECONNREFUSED.*gave up after 2 attempts/);
      expect(sleeps).toHaveLength(1);
      expect(retrier.takeRetries()).toBe(3);
    } finally {
      unreachable.destroy();
    }
  });
});
