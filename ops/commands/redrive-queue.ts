import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/** The dead-letter queue as `redrive` reads it: depth, receive, delete, and making messages visible again. */

/** Remembers a message received and not deleted, so it is made visible again at the end. */
export function hold(held: Map<string, Message>, message: Message): void {
  held.set(message.MessageId ?? message.ReceiptHandle ?? String(held.size), message);
}

export async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) || 0;
}

/** Up to `limit` messages not seen before in this run, 10 a call, until the queue answers with nothing. */
export async function receive(sqs: SQSClient, queueUrl: string, limit: number, visibility: number, held: Map<string, Message>): Promise<Message[]> {
  const messages: Message[] = [];
  while (messages.length < limit) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: Math.min(10, limit - messages.length), VisibilityTimeout: visibility, WaitTimeSeconds: 1 }),
    );
    if (!Messages || Messages.length === 0) break;
    // A message seen before came back because its visibility ran out: keep its new receipt handle, count it once.
    const fresh = Messages.filter((message) => !held.has(message.MessageId ?? ''));
    for (const message of Messages) if (held.has(message.MessageId ?? '')) held.set(message.MessageId!, message);
    messages.push(...fresh);
    if (fresh.length === 0) break;
  }
  return messages;
}

export async function remove(sqs: SQSClient, queueUrl: string, messages: readonly Message[], held: Map<string, Message>, notes: Set<string>): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const chunk = messages.slice(i, i + 10);
    const { Failed } = await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((message, n) => ({ Id: String(n), ReceiptHandle: message.ReceiptHandle! })) }),
    );
    for (const failed of Failed ?? []) {
      const message = chunk[Number(failed.Id)];
      if (message) hold(held, message);
      notes.add(`some deletes failed (${failed.Code ?? 'error'}): those letters were redriven and will be seen again`);
    }
  }
}

/** Makes the messages this run received and did not delete visible again at once. */
export async function release(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const chunk = messages.slice(i, i + 10);
    await sqs
      .send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((message, n) => ({ Id: String(n), ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 })) }))
      .catch(() => undefined);
  }
}
