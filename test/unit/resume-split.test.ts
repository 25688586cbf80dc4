import { describe, expect, it } from 'vitest';
import { isResponseTooLarge, resumeAccounts } from '../../ops/commands/redrive-gaps';
import type { PipelineTarget } from '../../ops/target';
import type { AccountView, OperatorCommand, OperatorCommandResult } from '../../shared/consumer/operator-command';
import { FunctionError } from '../../local/functions/local-function';
import { zeroCounts } from '../../shared/ordering/outcome';

const view = (accountId: string): AccountView => ({ accountId, state: 'in-sync', version: 3, parked: [], owed: [], skipped: [], skips: [] });

/** A function whose answer passes Lambda's 6 MB once it carries more than `fits` account views. */
function target(fits: number, calls: number[]): PipelineTarget {
  return {
    async command(destination: string, command: OperatorCommand): Promise<OperatorCommandResult> {
      if (command.command !== 'resume') throw new Error('only resume');
      calls.push(command.accountIds.length);
      if (command.accountIds.length > fits) {
        throw new FunctionError('fraud-consumer', 'Function.ResponseSizeTooLarge', 'Response payload size (6400000 bytes) exceeded maximum allowed payload size (6291556 bytes).');
      }
      return { orderedFanout: { command: 'resume', destination, counts: zeroCounts(), accounts: command.accountIds.map(view) } };
    },
  } as unknown as PipelineTarget;
}

describe('resumeAccounts', () => {
  it('splits a resume whose answer would pass 6 MB in halves until it fits, and reports every account (before: the whole revisit failed)', async () => {
    const calls: number[] = [];
    const ids = Array.from({ length: 230 }, (_, index) => `ACC-${index}`);

    const views = await resumeAccounts(target(30, calls), 'fraud', ids);

    expect([...views.keys()].sort()).toEqual([...ids].sort());
    // Each account answered for once: the calls that fit add up to all of them.
    expect(calls.filter((size) => size <= 30).reduce((sum, size) => sum + size, 0)).toBe(230);
    expect(calls[0]).toBe(100);
  });

  it('still throws what is not a size refusal, and a single account over the limit', async () => {
    const failing = { command: async () => Promise.reject(new Error('AccessDeniedException')) } as unknown as PipelineTarget;
    await expect(resumeAccounts(failing, 'fraud', ['A', 'B'])).rejects.toThrow('AccessDeniedException');
    await expect(resumeAccounts(target(0, []), 'fraud', ['A'])).rejects.toThrow('ResponseSizeTooLarge');
  });

  it('knows the refusal as the local function and as Invoke on AWS word it', () => {
    expect(isResponseTooLarge(new FunctionError('f', 'Function.ResponseSizeTooLarge', 'x'))).toBe(true);
    expect(isResponseTooLarge(new Error('fraud-consumer failed: {"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload size exceeded maximum allowed payload size (6291556 bytes)."}'))).toBe(true);
    expect(isResponseTooLarge(new Error('ThrottlingException'))).toBe(false);
  });
});
