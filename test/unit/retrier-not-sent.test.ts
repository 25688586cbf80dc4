import { describe, expect, it } from 'vitest';
import { localLambdaContext, toLambdaKinesisEvent } from '../../local/lambda-event';
import { RecordingDeadLetterQueue } from '../../local/recording-destination';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import { ChangeConsumer } from '../../shared/consumer/change-consumer';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import { settledToResult } from '../../shared/consumer/settled-to-result';
import { InMemoryLedger } from '../../shared/ledger/in-memory-ledger';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { Delivery, DeliveryResult, Destination, DeliverOptions } from '../../shared/ordering/ports';
import { NOT_SENT_DEADLINE, withDeadline } from '../../shared/retry/deadline';
import { Retrier, type ItemAnswer } from '../../shared/retry/retrier';
import { kdsRecord } from '../support/kds-payload';

/*
 * ports.ts: a failure with 0 attempts "means nothing was sent (no time was left ...): not a failed delivery, so the
 * engine hands the record back to Lambda rather than dead-lettering it". The adapters answer NOT_SENT_DEADLINE for an
 * item whose turn comes after the round's deadline (S3: items queued behind the 32 requests in flight; OpenSearch: an
 * index check that used up the time). Before, the retrier counted that round as an attempt: such an item ended with
 * 1 attempt and was dead-lettered DELIVERY_FAILED (for in-order, blocking its account until an operator's redrive),
 * though nothing had been sent.
 */

describe('Retrier and items not sent at the deadline', () => {
  it('does not count a round in which an item was not sent: never sent, it ends with 0 attempts', async () => {
    let now = 1_000_000;
    const retrier = new Retrier({ clock: () => now, sleep: async () => undefined });
    retrier.deadline = now + 1_000;

    const settled = await retrier.settle(['sent', 'queued-1', 'queued-2'], async (pending) =>
      pending.map((item): ItemAnswer<string> => {
        if (item === 'sent') {
          now += 2_000; // the requests in flight use up the time
          return { kind: 'done', result: item };
        }
        return { kind: 'retry', detail: NOT_SENT_DEADLINE };
      }),
    );

    expect(settled[0]).toEqual({ kind: 'done', result: 'sent', attempts: 1 });
    expect(settled[1]).toMatchObject({ kind: 'failed', reason: 'DELIVERY_FAILED', attempts: 0 });
    expect(settled[2]).toMatchObject({ kind: 'failed', reason: 'DELIVERY_FAILED', attempts: 0 });
    expect(settled[1]?.kind === 'failed' && settled[1].detail).toMatch(/^not sent: the deadline had passed/);
  });

  it('counts only the rounds that sent it: sent once, throttled, then not sent at the deadline, it ends with 1 attempt', async () => {
    let now = 1_000_000;
    const retrier = new Retrier({ clock: () => now, sleep: async () => undefined, random: () => 0 });
    retrier.deadline = now + 1_000;
    let round = 0;
    const [settled] = await retrier.settle(['a'], async () => {
      round += 1;
      if (round === 1) return [{ kind: 'retry', detail: 'ThrottlingException' }];
      now += 2_000;
      return [{ kind: 'retry', detail: NOT_SENT_DEADLINE }];
    });
    expect(settled).toMatchObject({ kind: 'failed', reason: 'DELIVERY_FAILED', attempts: 1 });
  });
});

/** An adapter sending one item at a time, like S3's queue behind its concurrency limit, each request taking `takesMs`. */
class QueuedDestination implements Destination {
  readonly sent: number[] = [];
  constructor(
    readonly name: string,
    readonly mode: DeliveryMode,
    private readonly retrier: Retrier,
    private readonly takesMs: number,
  ) {}
  async deliver(deliveries: readonly Delivery[], options: DeliverOptions = {}): Promise<readonly DeliveryResult[]> {
    const settled = await this.retrier.settle(
      deliveries,
      (pending, _attempt, round) =>
        withDeadline(round.deadline, async (signal) => {
          const answers: ItemAnswer<DeliveryResult>[] = [];
          for (const delivery of pending) {
            if (signal?.aborted) {
              answers.push({ kind: 'retry', detail: NOT_SENT_DEADLINE });
              continue;
            }
            await new Promise((resolve) => setTimeout(resolve, this.takesMs));
            this.sent.push(delivery.record.version);
            answers.push({ kind: 'done', result: { status: 'delivered' } });
          }
          return answers;
        }),
      { deadline: options.deadline },
    );
    return settled.map(settledToResult);
  }
}

let sequence = 0;
function versions(accountId: string, n: number): KinesisRecordInput[] {
  return Array.from({ length: n }, (_, index) => {
    sequence += 1;
    const version = index + 1;
    const image = (v: number) => ({ account_id: accountId, balance: 1_000 + v, currency: 'AUD', status: 'OPEN', version: v });
    return kdsRecord(
      version === 1
        ? { kind: 'INSERT', newImage: image(1), tableName: 'Accounts' }
        : { kind: 'MODIFY', oldImage: image(version - 1), newImage: image(version), tableName: 'Accounts' },
      { sequenceNumber: `4967${String(sequence).padStart(20, '0')}`, shardId: 'shardId-000000000001', createdAtMicros: 1_795_392_000_000_000 + version * 1_000 },
    );
  });
}

describe('a batch whose deliveries run out of time before all are sent', () => {
  it.each([
    ['audit', 'every-version'],
    ['search', 'latest-state'],
  ] as const)('%s: hands the records never sent back to Lambda instead of dead-lettering them', async (name, mode) => {
    const retrier = new Retrier();
    const destination = new QueuedDestination(name, mode, retrier, 150);
    const deadLetters = new RecordingDeadLetterQueue();
    const consumer = new ChangeConsumer({
      destination,
      ledger: new InMemoryLedger({ destination: name, epoch: 'live' }),
      deadLetters,
      accountsTable: 'Accounts',
      retrier,
      retryReserveMs: 1_000,
    });
    const handler = createKinesisHandler(() => ({ consumer, telemetry: { invocation() {}, batch() {}, batchError() {} } }));
    // Ten accounts, one request each at 150 ms; 1.5 s of time and 1 s kept in reserve: about three are sent.
    const records = Array.from({ length: 10 }, (_, index) => versions(`ACC-${index}`, 1)).flat();

    const response = await handler(
      toLambdaKinesisEvent(records, { region: 'us-east-1', streamArn: 'arn:aws:kinesis:us-east-1:1:stream/s' }),
      localLambdaContext(`${name}-consumer`, 1_500),
    );

    const failed = response.batchItemFailures.length;
    expect(destination.sent.length).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
    expect(destination.sent.length + failed).toBe(records.length);
    expect(deadLetters.letters).toEqual([]);
  });
});
