import { SendMessageBatchCommand, type SendMessageBatchCommandOutput, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { MAX_BATCH_BYTES } from '../../destinations/ledger-queue/runtime';
import { applyCallFaults, isRefused, type ClientFaultState } from './faulty-client';

/**
 * fauxqs 1.9 between the adapter and the contract's faults. fauxqs keeps FIFO order per group, deduplicates by
 * MessageDeduplicationId and enforces 10 entries per batch; SQS's 1 MiB of bodies per SendMessageBatch is enforced
 * here too, as AWS answers it, so a test of the limit does not depend on the emulator's own.
 */
export function faultySqs(real: SQSClient, state: ClientFaultState, transient: Map<string, number> = new Map()): SQSClient {
  const send = async (command: SendMessageBatchCommand, options?: { abortSignal?: AbortSignal }): Promise<SendMessageBatchCommandOutput> => {
    const entries = command.input.Entries ?? [];
    await applyCallFaults(state, entries.length, options?.abortSignal);
    const bytes = entries.reduce((sum, entry) => sum + Buffer.byteLength(entry.MessageBody ?? ''), 0);
    if (bytes > MAX_BATCH_BYTES) {
      throw Object.assign(new Error(`Batch requests cannot be longer than ${MAX_BATCH_BYTES} bytes`), { name: 'BatchRequestTooLong', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    }
    // `transient`: an account's entries fail this many more times as an internal error (SenderFault false).
    const flaky = entries.filter((entry) => (transient.get(entry.MessageGroupId ?? '') ?? 0) > 0);
    for (const entry of flaky) transient.set(entry.MessageGroupId ?? '', (transient.get(entry.MessageGroupId ?? '') ?? 0) - 1);
    const refused = entries.filter((entry) => isRefused(state, entry.MessageGroupId ?? '', versionOf(entry)) || flaky.includes(entry));
    const passed: SendMessageBatchRequestEntry[] = entries.filter((entry) => !refused.includes(entry));
    const answer = passed.length > 0 ? await real.send(new SendMessageBatchCommand({ ...command.input, Entries: passed }), options) : { Successful: [], Failed: [] };
    const failures = refused.map((entry) =>
      flaky.includes(entry)
        ? { Id: entry.Id, SenderFault: false, Code: 'InternalError', Message: 'internal error (test fault)' }
        : { Id: entry.Id, SenderFault: true, Code: 'InvalidParameterValue', Message: 'refused by the contract test' },
    );
    return { ...answer, Failed: [...(answer.Failed ?? []), ...failures] } as SendMessageBatchCommandOutput;
  };
  return { send } as unknown as SQSClient;
}

/** The account version a ledger-queue message body carries, if it is one. */
function versionOf(entry: SendMessageBatchRequestEntry): number | undefined {
  try {
    const { version } = JSON.parse(entry.MessageBody ?? '') as { version?: unknown };
    return typeof version === 'number' ? version : undefined;
  } catch {
    return undefined;
  }
}
