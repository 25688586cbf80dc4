/** How a `fanout` command talks to its user: results on stdout, progress and diagnostics on stderr. */
export interface CommandIO {
  /** A line of the command's result (stdout). */
  out(line: string): void;
  /** A line of diagnostics (stderr). */
  err(line: string): void;
  /** Print results as one JSON document instead of lines. */
  readonly json: boolean;
  /** Progress for a bar (stderr, interactive terminals only); `label` names the phase. */
  progress(label: string, done: number, total: number): void;
}

/** A `CommandIO` that collects everything, for tests. */
export function recordingIO(json = false): CommandIO & { readonly lines: string[]; readonly errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, json, out: (line) => void lines.push(line), err: (line) => void errors.push(line), progress: () => undefined };
}
