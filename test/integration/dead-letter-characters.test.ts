import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingDestination } from '../../local/recording-destination';
import { ChangeConsumer } from '../../shared/consumer/change-consumer';
import { decodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
import { SqsDeadLetterQueue } from '../../shared/dead-letter/sqs-dead-letter-queue';
import { InMemoryLedger } from '../../shared/ledger/in-memory-ledger';
import { Retrier } from '../../shared/retry/retrier';
import { kdsRecord } from '../support/kds-payload';

/*
 * SQS accepts only #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF in a message body
 * (InvalidMessageContents, a sender fault, otherwise). DynamoDB strings may hold U+FFFE / U+FFFF, and the letter's body
 * is `JSON.stringify` of the whole record, which leaves them as they are: `encodeDeadLetter` escapes them (and
 * `sqsAttributeText` the account id attribute), or the queue would answer false, the record would be reported failed,
 * and Lambda would retry the batch from it for `retryAttempts` (the shard blocked behind it) and then send the batch to
 * the on-failure bucket. README: "bad input never blocks a shard"; a refused delivery is dead-lettered (REJECTED).
 */

type Fauxqs = Awaited<ReturnType<typeof startFauxqs>>;
let server: Fauxqs;
let client: SQSClient;

beforeAll(async () => {
  server = await startFauxqs({ port: 0, logger: false });
  client = new SQSClient({ endpoint: `http://127.0.0.1:${server.port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});
afterAll(async () => {
  client?.destroy();
  await server?.stop();
});

describe('a record whose image holds a character SQS refuses raw', () => {
  it('a REJECTED delivery of it is dead-lettered (the letter escapes the character), not reported failed to Lambda', async () => {
    const queueUrl = (await client.send(new CreateQueueCommand({ QueueName: `characters-dlq-${process.pid}` }))).QueueUrl as string;
    const deadLetters = new SqsDeadLetterQueue({ client, queueUrl, retrier: new Retrier({ policy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } }) });
    const destination = new RecordingDestination('fraud', 'in-order');
    // The destination refuses the event for good (a schema rejection): the record must go to the dead-letter queue.
    destination.intercept = () => ({ status: 'failed', reason: 'REJECTED', detail: 'InvalidArgument: schema', attempts: 1 });
    const ledger = new InMemoryLedger({ destination: 'fraud', epoch: 'live' });
    const consumer = new ChangeConsumer({ destination, ledger, deadLetters, accountsTable: 'Accounts' });
    const now = Date.now();
    const image = {
      account_id: 'ACC-\uFFFE',
      balance: 1000,
      currency: 'AUD',
      status: 'OPEN',
      version: 1,
      opened_at: new Date(now).toISOString(),
      updated_at: new Date(now).toISOString(),
      last_change: { type: 'OPENED' as const, amount: 1000, reference: 'branch-\uFFFF' },
    };
    const input = kdsRecord({ kind: 'INSERT', newImage: image, tableName: 'Accounts' }, { sequenceNumber: '49650000000000000000000000000000000000000000000000000101', createdAtMicros: now * 1000 });

    const batch = await consumer.consume([input]);

    expect(batch.failures, 'the record was reported failed to Lambda: its letter could not be stored').toEqual([]);
    expect(batch.dispositions).toMatchObject([{ disposition: 'dead-lettered' }]);
    const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    expect(Messages).toHaveLength(1);
    const letter = decodeDeadLetter(Messages[0]?.Body as string);
    expect(letter.record?.newImage?.last_change).toEqual({ type: 'OPENED', amount: 1000, reference: 'branch-\uFFFF' });
    expect(letter.accountId).toBe('ACC-\uFFFE');
  });
});

describe('a record of a big item whose text JSON must escape', () => {
  it('is dead-lettered with its change gzipped: escaped, its letter would pass SQS\'s 1 MiB', async () => {
    const queueUrl = (await client.send(new CreateQueueCommand({ QueueName: `big-letter-dlq-${process.pid}` }))).QueueUrl as string;
    const deadLetters = new SqsDeadLetterQueue({ client, queueUrl, retrier: new Retrier({ policy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } }) });
    const destination = new RecordingDestination('fraud', 'in-order');
    destination.intercept = (delivery) =>
      delivery.record.version === 2 ? { status: 'failed', reason: 'REJECTED', detail: 'InvalidArgument: schema', attempts: 1 } : undefined;
    const ledger = new InMemoryLedger({ destination: 'fraud', epoch: 'live' });
    const consumer = new ChangeConsumer({ destination, ledger, deadLetters, accountsTable: 'Accounts' });
    const now = Date.now();
    // 360 KB of U+FFFE an image (three bytes each, within DynamoDB's 400 KB), on the stream as it is: within Kinesis'
    // 1 MiB. The letter escapes each to six characters (SQS refuses it raw): two images make about 1.4 MB.
    const note = '\uFFFE'.repeat(120_000);
    const image = (version: number) => ({ account_id: 'ACC-BIG', balance: 1000, currency: 'AUD', status: 'OPEN', version, note });
    const input = kdsRecord(
      { kind: 'MODIFY', oldImage: image(1) as never, newImage: image(2) as never, tableName: 'Accounts' },
      { sequenceNumber: '49650000000000000000000000000000000000000000000000000201', createdAtMicros: now * 1000 },
    );
    expect(Buffer.from(input.data, 'base64').length).toBeLessThan(1_048_576);
    const opened = kdsRecord(
      { kind: 'INSERT', newImage: { ...image(1), note: 'opened' } as never, tableName: 'Accounts' },
      { sequenceNumber: '49650000000000000000000000000000000000000000000000000200', createdAtMicros: now * 1000 },
    );

    const batch = await consumer.consume([opened, input]);

    expect(batch.failures, 'the record was reported failed to Lambda: its letter could not be stored').toEqual([]);
    expect(batch.dispositions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ version: 1, disposition: 'delivered' }),
        expect.objectContaining({ version: 2, disposition: 'dead-lettered' }),
      ]),
    );
    const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    expect(Messages).toHaveLength(1);
    const body = Messages[0]?.Body as string;
    expect(Buffer.byteLength(body)).toBeLessThan(100_000);
    const letter = decodeDeadLetter(body);
    expect(letter.record?.newImage?.note).toBe(note);
    expect(letter.record?.oldImage?.note).toBe(note);
    expect(letter).toMatchObject({ accountId: 'ACC-BIG', version: 2, reason: 'REJECTED' });
  });
});
