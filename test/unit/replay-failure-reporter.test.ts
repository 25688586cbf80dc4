import { describe, expect, it } from 'vitest';
import { failureReporter } from '../../ops/commands/replay-local';
import { FunctionError } from '../../local/functions/local-function';

describe('a local replay says why its invocations fail', () => {
  it('once per distinct reason, at most five reasons', () => {
    const lines: string[] = [];
    const report = failureReporter((line) => lines.push(line));
    const crash = new FunctionError('ordered-fanout-search-r1', 'Runtime.ExitError', 'the runtime exited with code 1');
    report(crash);
    report(crash);
    report(new TypeError("Cannot read properties of undefined (reading 'SEARCH_INDEX')"));
    expect(lines).toEqual([
      'replay: an invocation failed: FunctionError: ordered-fanout-search-r1: Runtime.ExitError: the runtime exited with code 1',
      "replay: an invocation failed: TypeError: Cannot read properties of undefined (reading 'SEARCH_INDEX')",
    ]);
    for (let index = 0; index < 10; index += 1) report(new Error(`reason ${index}`));
    expect(lines).toHaveLength(5);
    expect(lines[4]).toMatch(/reason 2 \(further reasons not shown\)$/);
  });
});
