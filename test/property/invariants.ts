import type { InOrderCommit } from '../../shared/ordering/delivery-mode';
import type { DriveResult } from './drive';
import type { Stream } from './stream-model';

/**
 * What each mode promises once the stream is drained, checked against what the destination received. Returns the
 * violations found (empty when all hold), each naming the account and the sequence it received.
 */
export function violations(stream: Stream, result: DriveResult, commit: InOrderCommit = 'per-version'): string[] {
  const found = [...result.problems];
  const mode = result.destination.mode;
  for (const [accountId, history] of stream.histories) {
    const n = history.length;
    const received = result.destination.versionsOf(accountId);
    const crashes = result.crashesByAccount.get(accountId) ?? 0;
    const say = (what: string): void => {
      found.push(`${mode} ${accountId} (n=${n}, crashes=${crashes}): ${what}; received [${received.join(',')}]`);
    };
    if (mode === 'every-version') {
      const missing = history.filter((record) => !received.includes(record.version)).map((r) => r.version);
      if (missing.length > 0) say(`versions ${missing.join(',')} never delivered`);
      if (received.some((version) => version < 1 || version > n)) say('a version outside the history');
    } else if (mode === 'latest-state') {
      if (received.at(-1) !== n) say(`ends at ${received.at(-1)}, not ${n}`);
      if (received.some((version, i) => i > 0 && version <= (received[i - 1] as number))) {
        say('a version not above the one before it was accepted');
      }
    } else {
      const firsts = received.filter((version, i) => received.indexOf(version) === i);
      if (firsts.join() !== Array.from({ length: n }, (_, i) => i + 1).join()) say('first deliveries are not 1..n in order');
      let restarts = 0;
      for (let i = 1; i < received.length; i += 1) {
        const previous = received[i - 1] as number;
        const version = received[i] as number;
        if (version === previous + 1) continue;
        restarts += 1;
        // per-version: only the version just delivered may come again; per-batch: a claimed run may replay.
        const allowed = commit === 'per-version' ? version === previous : version <= previous && version >= 1;
        if (!allowed) say(`${version} after ${previous}`);
      }
      if (restarts > crashes) say(`${restarts} re-deliveries but only ${crashes} crashes`);
    }
  }
  const parked = result.parked;
  if (parked.length > 0) found.push(`${parked.length} records left parked: ${parked.map((r) => `${r.accountId}#${r.version}`).join(' ')}`);
  if (result.deadLetters.letters.length > 0) {
    found.push(`${result.deadLetters.letters.length} dead letters: ${result.deadLetters.letters.map((l) => `${l.accountId}#${l.version} ${l.reason}`).join(' ')}`);
  }
  return found;
}
