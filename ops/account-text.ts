/*
 * Account ids as an operator sees and types them. The Accounts table takes any string, so an id may hold spaces, shell
 * characters, quotes, newlines, terminal escapes or NUL (which no command-line argument can carry). One rule prints an
 * id in text output (`shownAccount`) and in a command to paste (`accountArgument`), and reads it back from an option
 * (`readAccountArgument`).
 */

/** Characters a terminal would act on rather than show, and the two SQS and JSON leave alone. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\uFFFE\uFFFF]/;
const SHELL_PLAIN = /^[A-Za-z0-9._:+=,/@%^-]+$/;

/** The id in a line of text output: as it is, or as a JSON string when it holds a character a terminal would act on. */
export function shownAccount(accountId: string): string {
  return UNPRINTABLE.test(accountId) || accountId.startsWith('"') ? JSON.stringify(accountId) : accountId;
}

/**
 * The id as one shell word to paste into a `fanout` command: as it is when nothing in it means anything to a shell,
 * else single-quoted; an id a terminal cannot show (or one that starts with `"`) is given as its JSON string, which
 * `readAccountArgument` reads back (a command line cannot carry NUL at all).
 */
export function accountArgument(accountId: string): string {
  const text = shownAccount(accountId);
  if (SHELL_PLAIN.test(text) && !text.startsWith('-')) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** An id typed in an option: a JSON string (starting with `"`) is read as one (see `accountArgument`), anything else as it is. */
export function readAccountArgument(text: string): string {
  if (!text.startsWith('"')) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RangeError(`an account id that starts with " is read as a JSON string, and ${text} is not one`);
  }
  if (typeof parsed !== 'string') throw new RangeError(`an account id that starts with " is read as a JSON string, and ${text} is not one`);
  return parsed;
}
