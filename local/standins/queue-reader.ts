import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/**
 * Reads a queue back as its receiver would: receive, then delete (on a FIFO queue that is what releases each message
 * group to the next receive, in order). Everything received is kept, in the order received, so repeated reads see the
 * whole history. Part of the plug-in kit: the local half of a destination that writes to SQS reads it back with this.
 */
export class QueueReader<Body = unknown> {
  /** `sentAt`: when SQS accepted the message (ms), else when it was received. */
  readonly received: { body: Body; groupId: string | undefined; deduplicationId: string | undefined; sentAt: number }[] = [];
  constructor(private readonly sqs: SQSClient, private readonly queueUrl: string) {}

  /** Receives until two empty answers in a row; returns everything received so far. */
  async drain(): Promise<Readonly<QueueReader<Body>['received']>> {
    const QueueUrl = this.queueUrl;
    for (let empty = 0; empty < 2; ) {
      const receive = new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'], WaitTimeSeconds: 0 });
      const { Messages = [] } = await this.sqs.send(receive);
      empty = Messages.length === 0 ? empty + 1 : 0;
      if (empty > 0) continue;
      for (const { Body, Attributes: { SentTimestamp, MessageGroupId, MessageDeduplicationId } = {} } of Messages) {
        const sent = Number(SentTimestamp);
        const sentAt = Number.isFinite(sent) && sent > 0 ? sent : Date.now();
        this.received.push({ body: JSON.parse(Body ?? '{}') as Body, groupId: MessageGroupId, deduplicationId: MessageDeduplicationId, sentAt });
      }
      const entries = Messages.map(({ ReceiptHandle }, index) => ({ Id: String(index), ReceiptHandle }));
      await this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl, Entries: entries }));
    }
    return this.received;
  }
}
