import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { decodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
import { receive, release } from './redrive-queue';

/** Letters read per queue at most: enough to see why, without reading a flooded queue on every snapshot. */
export const MAX_READ = 500;
/** Long enough to read `MAX_READ` without seeing one twice; they are made visible again right after. */
const VISIBILITY_SECONDS = 30;

/**
 * The letters in a dead-letter queue by reason (`DELIVERY_FAILED`, `GAP_TIMEOUT`, ...), read as `redrive --dry-run`
 * reads them: received, counted, made visible again at once. SQS has no peek, so a `redrive` running at the same
 * moment does not see them until then; nothing is deleted. Past `MAX_READ`, the rest is counted as `not read`.
 */
export async function deadLetterReasons(sqs: SQSClient, queueUrl: string, total: number): Promise<Record<string, number>> {
  const held = new Map<string, Message>();
  const counts: Record<string, number> = {};
  try {
    const messages = await receive(sqs, queueUrl, MAX_READ, VISIBILITY_SECONDS, held);
    for (const message of messages) {
      held.set(message.MessageId ?? String(held.size), message);
      let reason: string;
      try {
        reason = decodeDeadLetter(message.Body ?? '').reason;
      } catch {
        reason = 'UNREADABLE';
      }
      counts[reason] = (counts[reason] ?? 0) + 1;
    }
    if (total > messages.length) counts['not read'] = total - messages.length;
  } finally {
    await release(sqs, queueUrl, [...held.values()]);
  }
  return counts;
}
