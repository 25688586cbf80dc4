import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { LedgerQueueMessage } from './message';

/** One message as a receiver of the ledger queue saw it, in the order received. */
export interface ReceivedLedgerMessage {
  readonly body: LedgerQueueMessage;
  readonly groupId: string | undefined;
  readonly deduplicationId: string | undefined;
  /** When SQS accepted it (ms), else when it was received. */
  readonly sentAt: number;
}

/**
 * Reads the FIFO queue as the ledger service would: receive, then delete, so SQS releases each message group to the
 * next receive in order. Everything received is kept, so repeated reads see the whole history.
 */
export class FifoReader {
  readonly received: ReceivedLedgerMessage[] = [];

  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** Receives until two empty answers in a row; returns everything received so far. */
  async drain(): Promise<readonly ReceivedLedgerMessage[]> {
    for (let empty = 0; empty < 2; ) {
      const { Messages = [] } = await this.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['All'], WaitTimeSeconds: 0 }),
      );
      if (Messages.length === 0) {
        empty += 1;
        continue;
      }
      empty = 0;
      for (const message of Messages) {
        const sent = Number(message.Attributes?.SentTimestamp);
        this.received.push({
          body: JSON.parse(message.Body ?? '{}') as LedgerQueueMessage,
          groupId: message.Attributes?.MessageGroupId,
          deduplicationId: message.Attributes?.MessageDeduplicationId,
          sentAt: Number.isFinite(sent) && sent > 0 ? sent : Date.now(),
        });
      }
      const entries = Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle as string }));
      await this.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
    }
    return this.received;
  }
}
