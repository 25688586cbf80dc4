import { mkdirSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';

/*
 * Argument rules the two command lines share (`fanout`, and `npm start` in local/main.ts): one rule each, so the two
 * refuse the same input the same way.
 */

/** An integer option of at least `min`, written in digits: Number() also reads "1e2", "0x14" and " 5 ". */
export function wholeNumber(value: string, min: number, rule = `must be an integer >= ${min}`): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min) throw new InvalidArgumentError(rule);
  return parsed;
}

/** Makes the directory an option names before anything starts; one that cannot be made ends the command (`fail`). */
export function makeDirectory(option: string, dir: string, fail: (message: string) => never): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    fail(`error: option '${option}' argument '${dir}' is invalid: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
