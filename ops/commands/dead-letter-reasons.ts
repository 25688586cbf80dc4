import type { SQSClient } from '@aws-sdk/client-sqs';
import { decodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
import { HeldMessages, receive, release } from './redrive-queue';

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
  // Held until released below, and kept hidden meanwhile: a slow read does not count a letter twice.
  const held = new HeldMessages({ renewSeconds: VISIBILITY_SECONDS, marginSeconds: VISIBILITY_SECONDS / 2 });
  const counts: Record<string, number> = {};
  try {
    const messages = await receive(sqs, queueUrl, MAX_READ, VISIBILITY_SECONDS, held);
    for (const message of messages) {
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
    await release(sqs, queueUrl, held);
  }
  return counts;
}
