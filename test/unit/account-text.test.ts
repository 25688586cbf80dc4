import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { accountArgument, readAccountArgument, shownAccount } from '../../ops/account-text';
import { gapAdvice, parseGapSkip } from '../../ops/commands/redrive-gaps';

/** What a POSIX shell makes of `word` as one argument (printf echoes it back byte for byte). */
function throughShell(word: string): string {
  const result = spawnSync('sh', ['-c', `printf '%s' ${word}`], { encoding: 'utf8' });
  expect(result.status).toBe(0);
  return result.stdout;
}

describe('account ids on the command line: printed, pasted, read back', () => {
  test('any id pasted as accountArgument prints reaches fanout as an argument that reads back to the same id', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), (accountId) => {
        if (/\p{Cs}/u.test(accountId)) return;
        const word = accountArgument(accountId);
        expect(readAccountArgument(throughShell(word))).toBe(accountId);
        expect(parseGapSkip(`${throughShell(word)}@7`)).toEqual({ accountId, through: 7 });
      }),
      { numRuns: 150 },
    );
  });

  test('plain ids stay as they are; text output never carries a character a terminal acts on', () => {
    expect(accountArgument('ACC-00001')).toBe('ACC-00001');
    expect(shownAccount('ACC-00001')).toBe('ACC-00001');
    expect(accountArgument('ACC 1')).toBe("'ACC 1'");
    expect(accountArgument('$(id)')).toBe("'$(id)'");
    expect(accountArgument("it's")).toBe(`'it'\\''s'`);
    expect(shownAccount('a\u001b[2Jb\nc')).toBe('"a\\u001b[2Jb\\nc"');
    expect(accountArgument('a\u0000b')).toBe(`'"a\\u0000b"'`);
    expect(readAccountArgument('"a\\u0000b"')).toBe('a\u0000b');
    expect(() => readAccountArgument('"unterminated')).toThrow(RangeError);
  });

  test("the gap advice's command, pasted, skips the account it names", () => {
    const view = { accountId: 'ACC 1; rm -rf /\n', parked: [[5, 5]], state: 'parked-behind-gap' } as unknown as Parameters<typeof gapAdvice>[2];
    const advice = gapAdvice('fraud', [[3, 4]], view);
    const command = /--skip-gap (.*) --reason/.exec(advice)?.[1] as string;
    expect(advice).not.toContain('\n');
    expect(parseGapSkip(throughShell(command))).toEqual({ accountId: 'ACC 1; rm -rf /\n', through: 4 });
  });
});
