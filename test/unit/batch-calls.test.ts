import { describe, expect, it } from 'vitest';
import { sendInBatches, type EntryAnswer } from '../../shared/destination-plugin/batch-calls';
import type { Delivery } from '../../shared/ordering/ports';
import { NOT_SENT_DEADLINE } from '../../shared/retry/deadline';
import { Retrier } from '../../shared/retry/retrier';

const delivery = (accountId: string, version = 1): Delivery => ({
  record: {
    accountId,
    version,
    previousVersion: version - 1,
    kind: 'MODIFY',
    createdAtMicros: 1_795_392_000_000_000,
    eventId: `${accountId}-${version}`,
    sequenceNumber: `${accountId}-seq-${version}`,
    shardId: 'shardId-000000000000',
  },
  healed: false,
  replay: false,
  epoch: 'live',
});

/** Entries are account ids; `bytes` per account (default 10). A fake service answers from `answer`, recording calls. */
function service(answer: (account: string) => EntryAnswer = () => 'accepted', bytes: Record<string, number> = {}) {
  const calls: string[][] = [];
  return {
    calls,
    toEntry: ({ record }: Delivery) => ({ entry: record.accountId, bytes: bytes[record.accountId] ?? 10 }),
    send: async (entries: string[]) => {
      calls.push(entries);
      return entries.map(answer);
    },
  };
}

const LIMITS = { maxEntries: 3, maxBytes: 100 };

describe('sendInBatches', () => {
  it('sends calls of at most maxEntries entries and maxBytes bytes, in order, and answers per delivery in order', async () => {
    const fake = service(undefined, { c: 60, d: 60 });
    const answers = await sendInBatches(['a', 'b', 'c', 'd', 'e'].map((id) => delivery(id)), undefined, LIMITS, fake.toEntry, fake.send);
    expect(fake.calls).toEqual([['a', 'b', 'c'], ['d', 'e']]);
    expect(answers).toEqual(Array(5).fill({ kind: 'done', result: { status: 'delivered' } }));
  });

  it('refuses an entry over maxBytes without sending it, naming the record', async () => {
    const fake = service(undefined, { big: 101 });
    const answers = await sendInBatches([delivery('a'), delivery('big', 7)], undefined, LIMITS, fake.toEntry, fake.send);
    expect(fake.calls).toEqual([['a']]);
    expect(answers[1]).toMatchObject({ kind: 'reject', detail: expect.stringMatching(/big.*7.*101 bytes exceeds the 100-byte limit/) });
  });

  it('maps each entry answer: accepted, retryable, refused, and left out of the answer (retried)', async () => {
    const fake = service((account) =>
      ({ ok: 'accepted', slow: { retryable: true, detail: 'Throttled: slow down' }, bad: { retryable: false, detail: 'Invalid: no' }, lost: undefined })[account] as EntryAnswer,
    );
    const answers = await sendInBatches(['ok', 'slow', 'bad', 'lost'].map((id) => delivery(id)), undefined, { maxEntries: 10, maxBytes: 100 }, fake.toEntry, fake.send);
    expect(answers.map((answer) => answer.kind)).toEqual(['done', 'retry', 'reject', 'retry']);
    expect(answers[1]).toMatchObject({ detail: expect.stringMatching(/slow.*: Throttled: slow down$/) });
    expect(answers[2]).toMatchObject({ detail: expect.stringMatching(/bad.*: Invalid: no$/) });
    expect(answers[3]).toMatchObject({ detail: expect.stringMatching(/lost.*: no answer for this entry$/) });
  });

  it('answers a failed call for all its entries by the error: throttling retried, a refusal rejected, a bug thrown', async () => {
    const failing = (error: unknown) => async () => {
      throw error;
    };
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    const denied = Object.assign(new Error('no'), { name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } });
    const two = [delivery('a'), delivery('b')];
    const toEntry = service().toEntry;
    expect((await sendInBatches(two, undefined, LIMITS, toEntry, failing(throttled))).map((answer) => answer.kind)).toEqual(['retry', 'retry']);
    expect(await sendInBatches(two, undefined, LIMITS, toEntry, failing(denied))).toEqual(Array(2).fill({ kind: 'reject', detail: expect.stringContaining('AccessDenied') }));
    await expect(sendInBatches(two, undefined, LIMITS, toEntry, failing(new TypeError('bug')))).rejects.toThrow('bug');
  });

  it('sends nothing once the signal has aborted (the deadline passed)', async () => {
    const fake = service();
    const answers = await sendInBatches([delivery('a')], AbortSignal.abort(), LIMITS, fake.toEntry, fake.send);
    expect(fake.calls).toEqual([]);
    expect(answers).toEqual([{ kind: 'retry', detail: NOT_SENT_DEADLINE }]);
  });

  it('keeps at most `concurrency` calls in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const send = async (entries: string[]) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return entries.map((): EntryAnswer => 'accepted');
    };
    const deliveries = Array.from({ length: 9 }, (_, index) => delivery(`a${index}`));
    await sendInBatches(deliveries, undefined, { maxEntries: 1, maxBytes: 100, concurrency: 2 }, service().toEntry, send);
    expect(most).toBe(2);
  });

  it('through the retrier: a retryable entry is retried alone, then DELIVERY_FAILED; a refused one is REJECTED at once', async () => {
    const fake = service((account) => (account === 'ok' ? 'accepted' : { retryable: account === 'flaky', detail: account }));
    const retrier = new Retrier({ policy: { maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0 } });
    const deliveries = ['ok', 'flaky', 'bad'].map((id) => delivery(id));
    const settled = await retrier.settle(deliveries, (pending) => sendInBatches(pending, undefined, LIMITS, fake.toEntry, fake.send));
    expect(fake.calls).toEqual([['ok', 'flaky', 'bad'], ['flaky'], ['flaky']]);
    expect(settled).toMatchObject([
      { kind: 'done', result: { status: 'delivered' }, attempts: 1 },
      { kind: 'failed', reason: 'DELIVERY_FAILED', attempts: 3 },
      { kind: 'failed', reason: 'REJECTED', attempts: 1 },
    ]);
  });
});
