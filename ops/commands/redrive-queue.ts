import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** The dead-letter queue as `redrive` reads it: depth, receive, delete, and making messages visible again. */

/**
 * Messages of a standard queue SQS keeps in flight (received, not deleted, still hidden) at most. At the limit a long
 * poll answers with nothing rather than an error, so a read that holds that many cannot tell the rest from an empty
 * queue (SQS quotas: "approximately 120,000 in flight messages").
 */
export const SQS_MAX_IN_FLIGHT = 120_000;

/** SQS's most entries in one DeleteMessageBatch or ChangeMessageVisibilityBatch, and messages in one ReceiveMessage. */
const BATCH_ENTRIES = 10;

export interface HeldOptions {
  /**
   * How long a message stays hidden once its visibility is extended: long, so that a message is extended about once
   * however long the run. @default 1800
   */
  readonly renewSeconds?: number;
  /**
   * Extend a message's visibility when less than this is left of it: more than the longest step between two checks
   * (a ReceiveMessage; for `redrive`, an invocation, which Lambda may run for 15 minutes). @default 20
   */
  readonly marginSeconds?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/**
 * The messages a run has received and not deleted, by id, each with the latest receipt handle and the time its
 * visibility runs out. SQS makes a message visible again once its visibility timeout passes, and a long run (many
 * letters, slow invocations) outlasts a timeout: the message would then come back as if new, or end a read that took
 * it for the end of the queue. So the run extends a message's visibility before it runs out (`renewDue`), and makes
 * every message it still holds visible again at the end (`release`).
 */
export class HeldMessages {
  readonly #held = new Map<string, { message: Message; hiddenUntil: number }>();
  readonly #renewSeconds: number;
  readonly #marginMs: number;
  readonly #clock: () => number;

  constructor(options: HeldOptions = {}) {
    this.#renewSeconds = options.renewSeconds ?? 1_800;
    this.#marginMs = (options.marginSeconds ?? 20) * 1000;
    this.#clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.#held.size;
  }

  has(message: Message): boolean {
    return this.#held.has(idOf(message));
  }

  /** Holds `message`, received just now with `visibilitySeconds` (a message received again replaces its handle). */
  received(message: Message, visibilitySeconds: number, at = this.#clock()): void {
    this.#held.set(idOf(message), { message, hiddenUntil: at + visibilitySeconds * 1000 });
  }

  /** The message as last received: SQS deletes or changes a message only by its most recent receipt handle. */
  latest(message: Message): Message {
    return this.#held.get(idOf(message))?.message ?? message;
  }

  deleted(message: Message): void {
    this.#held.delete(idOf(message));
  }

  messages(): Message[] {
    return [...this.#held.values()].map(({ message }) => message);
  }

  /**
   * Extends the visibility of every held message that has less than the margin left. A message SQS refuses to extend
   * (it became visible already) may be received again: `receive` then takes its new handle and counts it once.
   */
  async renewDue(sqs: SQSClient, queueUrl: string): Promise<void> {
    const now = this.#clock();
    const due = [...this.#held.values()].filter(({ hiddenUntil }) => hiddenUntil - now < this.#marginMs).map(({ message }) => message);
    for (let i = 0; i < due.length; i += BATCH_ENTRIES) {
      const chunk = due.slice(i, i + BATCH_ENTRIES);
      const { Failed } = await sqs.send(
        new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((message, n) => ({ Id: String(n), ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: this.#renewSeconds })) }),
      );
      const failed = new Set((Failed ?? []).map(({ Id }) => Number(Id)));
      chunk.forEach((message, n) => {
        if (!failed.has(n)) this.received(message, this.#renewSeconds, now);
      });
    }
  }
}

function idOf(message: Message): string {
  return message.MessageId ?? message.ReceiptHandle ?? '';
}

export async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) || 0;
}

/**
 * Up to `limit` messages not seen before in this run, 10 a call, until the queue answers with nothing. Each is held
 * (`held`) until it is deleted. A message seen before that comes back (its visibility ran out before it could be
 * extended) is not the end of the queue: its new receipt handle is kept, it is counted once, and the read goes on.
 */
export async function receive(sqs: SQSClient, queueUrl: string, limit: number, visibility: number, held: HeldMessages): Promise<Message[]> {
  const messages: Message[] = [];
  while (messages.length < limit) {
    await held.renewDue(sqs, queueUrl);
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: Math.min(BATCH_ENTRIES, limit - messages.length), VisibilityTimeout: visibility, WaitTimeSeconds: 1 }),
    );
    if (!Messages || Messages.length === 0) break;
    for (const message of Messages) {
      if (!held.has(message)) messages.push(message);
      held.received(message, visibility);
    }
  }
  return messages;
}

/** Deletes the messages (by their latest receipt handles); one SQS does not delete stays held and noted. */
export async function remove(sqs: SQSClient, queueUrl: string, messages: readonly Message[], held: HeldMessages, notes: Set<string>): Promise<void> {
  const latest = messages.map((message) => held.latest(message));
  for (let i = 0; i < latest.length; i += BATCH_ENTRIES) {
    const chunk = latest.slice(i, i + BATCH_ENTRIES);
    const { Failed } = await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((message, n) => ({ Id: String(n), ReceiptHandle: message.ReceiptHandle! })) }),
    );
    const failed = new Set((Failed ?? []).map(({ Id }) => Number(Id)));
    chunk.forEach((message, n) => {
      if (!failed.has(n)) held.deleted(message);
    });
    for (const failure of Failed ?? []) {
      notes.add(`some deletes failed (${failure.Code ?? 'error'}): those letters were redriven and will be seen again`);
    }
  }
}

/**
 * Makes the messages this run still holds visible again at once. Answers how many SQS did not take back: those come
 * back by themselves when their visibility runs out (at most `renewSeconds` later).
 */
export async function release(sqs: SQSClient, queueUrl: string, held: HeldMessages): Promise<number> {
  const messages = held.messages();
  let failed = 0;
  for (let i = 0; i < messages.length; i += BATCH_ENTRIES) {
    const chunk = messages.slice(i, i + BATCH_ENTRIES);
    try {
      const { Failed } = await sqs.send(
        new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((message, n) => ({ Id: String(n), ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 })) }),
      );
      // One already visible again (its visibility ran out) needs nothing more.
      failed += (Failed ?? []).filter(({ Code }) => !/MessageNotInflight/i.test(Code ?? '')).length;
    } catch {
      failed += chunk.length;
    }
  }
  return failed;
}
