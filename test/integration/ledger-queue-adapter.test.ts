import type { LedgerQueueMessage } from '../../destinations/ledger-queue/runtime';
import { describe, expect, it } from 'vitest';
import { QueueReader } from '../../local/standins/queue-reader';
import { LEDGER_QUEUE_FORMAT, MAX_BATCH_BYTES, messageGroupId, SqsFifoQueue } from '../../destinations/ledger-queue/runtime';
import type { Delivery } from '../../shared/ordering/ports';
import { accountHistory } from '../support/histories';
import { Retrier } from '../../shared/retry/retrier';
import { contractDeliveries } from '../support/destination-contract';
import { clientFaultState } from '../support/faulty-client';
import { faultySqs } from '../support/faulty-sqs';
import { useFauxqsFifo } from '../support/fauxqs-fifo';

describe('ledger-queue adapter: SQS FIFO on fauxqs', () => {
  const fifo = useFauxqsFifo('adapter');

  const queue = async (transient?: Map<string, number>, maxMessageBytes?: number) => {
    const sqs = fifo.sqs();
    const queueUrl = await fifo.createQueue();
    const state = clientFaultState();
    const retrier = new Retrier({ policy: { maxAttempts: 4, baseDelayMs: 0, maxDelayMs: 0 } });
    const adapter = new SqsFifoQueue({ client: faultySqs(sqs, state, transient), queueUrl, retrier, maxMessageBytes });
    return { adapter, state, retrier, reader: new QueueReader<LedgerQueueMessage>(sqs, queueUrl) };
  };

  it('groups by account and deduplicates by <account>#<version>: a resend inside the window is not a second message', async () => {
    const { adapter, reader } = await queue();
    const deliveries = contractDeliveries(3, 2);
    await adapter.deliver(deliveries);
    await adapter.deliver(deliveries);
    const received = await reader.drain();
    expect(received).toHaveLength(deliveries.length);
    for (const message of received) {
      expect(message.groupId).toBe(messageGroupId(message.body.accountId));
      expect(message.deduplicationId).toBe(`${message.body.accountId}#${message.body.version}`);
      expect(message.body).toMatchObject({ format: LEDGER_QUEUE_FORMAT, eventId: message.deduplicationId, healed: false, replay: false, epoch: 'live' });
    }
  });

  it('sends accounts SQS takes no id of as they are (non-ASCII, spaces, over 128 characters) without two sharing a deduplication id', async () => {
    const { adapter, reader } = await queue();
    // The last two share their last 120 characters: cut to its tail, as releases before did, each version's
    // deduplication id was the same for both, and SQS dropped one account's message as a repeat.
    const ids = ['账户-0001', 'Zoë Ωmega 1', `${'a'.repeat(200)}-${'z'.repeat(120)}`, `${'b'.repeat(200)}-${'z'.repeat(120)}`];
    const deliveries: Delivery[] = ids.flatMap((accountId) => accountHistory(accountId, 2).map((record) => ({ record, healed: false, replay: false, epoch: 'live' })));

    const results = await adapter.deliver(deliveries);

    expect(results.every((result) => result.status === 'delivered')).toBe(true);
    const received = await reader.drain();
    expect(received).toHaveLength(deliveries.length);
    expect(new Set(received.map((message) => message.deduplicationId)).size).toBe(deliveries.length);
    for (const accountId of ids) {
      const mine = received.filter((message) => message.body.accountId === accountId);
      expect(mine.map((message) => message.body.version).sort()).toEqual([1, 2]);
      expect(new Set(mine.map((message) => message.groupId))).toEqual(new Set([messageGroupId(accountId)]));
      for (const message of mine) {
        expect(message.groupId).toMatch(/^[\x21-\x7e]{1,128}$/);
        expect(message.deduplicationId).toMatch(/^[\x21-\x7e]{1,128}$/);
      }
    }
    expect(messageGroupId('ACC-00001')).toBe('ACC-00001');
  });

  it('splits a wave by the 1 MiB per call as well as by 10 entries', async () => {
    const { adapter, state, reader } = await queue();
    // 12 accounts of ~240 KiB each: four fit in a call by bytes, ten by count.
    const deliveries = contractDeliveries(12, 1, { padBytes: 240 * 1024 });
    const results = await adapter.deliver(deliveries);
    expect(results.every((result) => result.status === 'delivered')).toBe(true);
    expect(Math.max(...state.entriesPerCall)).toBeLessThanOrEqual(Math.floor(MAX_BATCH_BYTES / (240 * 1024)));
    expect(await reader.drain()).toHaveLength(12);
  });

  it("sends an item of DynamoDB's 400 KB, and refuses it unsent when the queue's maximum is the old 256 KiB", async () => {
    const [big] = contractDeliveries(1, 1, { padBytes: 400 * 1024 });
    const { adapter, state, reader } = await queue();
    expect((await adapter.deliver([big!]))[0]?.status).toBe('delivered');
    expect(await reader.drain()).toHaveLength(1);
    const old = await queue(undefined, 256 * 1024);
    const [refused] = await old.adapter.deliver([big!]);
    expect(refused).toMatchObject({ status: 'failed', reason: 'REJECTED' });
    expect(old.state.entriesPerCall).toEqual([]);
    expect(state.entriesPerCall).toEqual([1]);
  });

  it('retries an entry that failed as an internal error, and keeps its account in order behind it', async () => {
    const deliveries = contractDeliveries(2, 3);
    const flaky = deliveries[0]!.record.accountId;
    const { adapter, retrier, reader } = await queue(new Map([[flaky, 2]]));
    const results = await adapter.deliver(deliveries);
    expect(results.every((result) => result.status === 'delivered')).toBe(true);
    expect(retrier.takeRetries()).toBe(2);
    const versions = (await reader.drain()).filter(({ body }) => body.accountId === flaky).map(({ body }) => body.version);
    expect(versions).toEqual([1, 2, 3]);
  });

  it('never has two versions of one account in one call', async () => {
    const { adapter, state } = await queue();
    await adapter.deliver(contractDeliveries(1, 5));
    expect(state.entriesPerCall).toEqual([1, 1, 1, 1, 1]);
  });
});
