import { closeSync, existsSync, fchmodSync, fsyncSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { ROOT_PATH } from './config-checker';

/*
 * Writing the pipeline's configuration file (`fanout replay --apply`) without losing another writer's change: the
 * write goes through only while the file still holds what the writer read, under a lock file beside it, and lands by
 * rename, so a reader never sees half a file.
 */

/** The configuration file as a writer read it: what it planned against, and what must still be there when it writes. */
export interface ConfigFileSnapshot {
  /** Absolute path, as given (not resolved through links). */
  readonly file: string;
  /** The file's text; undefined when it did not exist. */
  readonly text: string | undefined;
}

/** Who holds a configuration file's lock, as its lock file says. */
export interface ConfigFileLockHolder {
  readonly pid: number;
  readonly host: string;
  /** ISO time the lock was taken. */
  readonly since: string;
}

/**
 * A lock older than this is taken over whoever holds it. A writer holds the lock only to compare and rename, which takes
 * milliseconds; the age rule covers a holder on another host sharing the directory, whose pid cannot be looked up here.
 */
export const CONFIG_FILE_LOCK_STALE_MS = 60_000;

/** The file changed between a writer's read and its write: writing would drop what the other writer wrote. */
export class ConfigFileChangedError extends Error {
  constructor(
    readonly file: string,
    /** What changed, one entry per setting (`destinations.fraud.epoch ("live" → "replay-7")`), or how the file did. */
    readonly changes: readonly string[],
    readonly change: 'created' | 'removed' | 'changed',
  ) {
    super(`${file} ${change === 'changed' ? 'changed' : `was ${change}`} since it was read: ${summarizeChanges(changes)}`);
    this.name = 'ConfigFileChangedError';
  }
}

/** Another writer holds the file's lock (and is running, and its lock is younger than `CONFIG_FILE_LOCK_STALE_MS`). */
export class ConfigFileLockedError extends Error {
  constructor(
    readonly file: string,
    readonly lockFile: string,
    /** Undefined when the lock file cannot be read as one (its holder stopped between creating and filling it). */
    readonly holder: ConfigFileLockHolder | undefined,
  ) {
    const who = holder ? `pid ${holder.pid} on ${holder.host}, since ${holder.since}` : 'holder unknown';
    super(`${file} is being written by another fanout (${who}; lock ${lockFile})`);
    this.name = 'ConfigFileLockedError';
  }
}

const errorCode = (error: unknown): unknown => (error as { code?: unknown } | undefined)?.code;

/** Where a writer writes: through a link to its target, so a linked configuration file stays linked. */
function writtenPath(file: string): string {
  const full = resolve(file);
  return existsSync(full) ? realpathSync(full) : full;
}

/** The lock file of configuration file `file`, beside the file it guards. */
export function configFileLockPath(file: string): string {
  return `${writtenPath(file)}.lock`;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Reads `path` (a missing file is a snapshot too: creating it must not replace one another writer created). */
export function readConfigFileSnapshot(path: string): ConfigFileSnapshot {
  const file = resolve(path);
  return { file, text: readText(file) };
}

/**
 * Writes `text` to the snapshot's file, if the file still holds exactly the snapshot's text (or is still missing), and
 * every writer of the configuration file writes through here: so of two writers that read the same file, the second to
 * write is refused (`ConfigFileChangedError`) instead of silently dropping the first's change, and must read again.
 * The compare and the write happen under an exclusive lock file (`configFileLockPath`), so that no other writer can
 * write between them; while another writer holds it, `ConfigFileLockedError`. The text goes to a temporary file that is
 * renamed over the file, so a reader (`cdk synth`) sees the old file or the new one, never a part. A lock left by a
 * writer that stopped (its pid not running on this host) or older than `CONFIG_FILE_LOCK_STALE_MS` is taken over:
 * `staleLock` says why.
 */
export function replaceConfigFile(expected: ConfigFileSnapshot, text: string): { created: boolean; staleLock?: string } {
  const file = writtenPath(expected.file);
  const lock = acquireLock(expected.file, `${file}.lock`);
  try {
    const current = readText(file);
    if (current !== expected.text) throw changedError(expected.file, expected.text, current);
    writeAtomically(file, text);
  } finally {
    releaseLock(lock.path, lock.content);
  }
  return { created: expected.text === undefined, ...(lock.staleLock !== undefined ? { staleLock: lock.staleLock } : {}) };
}

function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  const mode = existsSync(file) ? statSync(file).mode & 0o7777 : undefined;
  try {
    const fd = openSync(temporary, 'w');
    try {
      if (mode !== undefined) fchmodSync(fd, mode);
      writeSync(fd, text);
      // Before the rename: a crash after it must not leave the new name on data still only in the page cache.
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // Already renamed, or never created.
    }
    throw error;
  }
}

function acquireLock(file: string, path: string): { path: string; content: string; staleLock?: string } {
  const content = `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() } satisfies ConfigFileLockHolder)}\n`;
  let staleLock: string | undefined;
  // Three tries: one, one after the holder released it while we looked, one after taking over a stale lock.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw error;
      const found = readLock(path);
      if (found === undefined) continue;
      const stale = staleReason(found);
      if (stale === undefined || staleLock !== undefined) throw new ConfigFileLockedError(file, path, found.holder);
      // Two writers may judge one lock stale at once; then one can remove the lock the other has just made. The
      // compare under the lock still refuses the writer whose snapshot is no longer the file.
      try {
        unlinkSync(path);
      } catch (unlinkError) {
        if (errorCode(unlinkError) !== 'ENOENT') throw unlinkError;
      }
      staleLock = `removed a stale lock ${path} (${stale})`;
      continue;
    }
    try {
      writeSync(fd, content);
    } catch (error) {
      closeSync(fd);
      unlinkSync(path);
      throw error;
    }
    closeSync(fd);
    return { path, content, ...(staleLock !== undefined ? { staleLock } : {}) };
  }
  throw new ConfigFileLockedError(file, path, readLock(path)?.holder);
}

function releaseLock(path: string, content: string): void {
  // Only our own: a writer that took it over as stale (we were paused past the age limit) now holds it.
  if (readText(path) === content) unlinkSync(path);
}

function readLock(path: string): { holder: ConfigFileLockHolder | undefined; ageMs: number } | undefined {
  let text: string | undefined;
  let ageMs: number;
  try {
    ageMs = Date.now() - statSync(path).mtimeMs;
    text = readText(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
  if (text === undefined) return undefined;
  let holder: ConfigFileLockHolder | undefined;
  try {
    const parsed = JSON.parse(text) as Partial<ConfigFileLockHolder>;
    if (Number.isInteger(parsed.pid) && typeof parsed.host === 'string' && typeof parsed.since === 'string') holder = parsed as ConfigFileLockHolder;
  } catch {
    holder = undefined;
  }
  return { holder, ageMs };
}

function staleReason({ holder, ageMs }: { holder: ConfigFileLockHolder | undefined; ageMs: number }): string | undefined {
  if (holder !== undefined && holder.host === hostname() && !isRunning(holder.pid)) return `pid ${holder.pid} on ${holder.host} is not running`;
  if (ageMs > CONFIG_FILE_LOCK_STALE_MS) return `${Math.round(ageMs / 1000)} s old, and a write holds it for milliseconds`;
  return undefined;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return errorCode(error) === 'EPERM';
  }
}

const MAX_CHANGES_SHOWN = 6;

function summarizeChanges(changes: readonly string[]): string {
  const shown = changes.slice(0, MAX_CHANGES_SHOWN).join('; ');
  return changes.length > MAX_CHANGES_SHOWN ? `${shown}; and ${changes.length - MAX_CHANGES_SHOWN} more` : shown;
}

function changedError(file: string, before: string | undefined, after: string | undefined): ConfigFileChangedError {
  const change = before === undefined ? 'created' : after === undefined ? 'removed' : 'changed';
  const parse = (text: string | undefined): { ok: boolean; value: unknown } => {
    if (text === undefined) return { ok: true, value: {} };
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch {
      return { ok: false, value: undefined };
    }
  };
  const old = parse(before);
  const now = parse(after);
  if (!old.ok || !now.ok) return new ConfigFileChangedError(file, [`its text ${now.ok ? 'is JSON again' : 'is not JSON now'}`], change);
  const changes = settingChanges(old.value, now.value, '');
  if (changes.length === 0) changes.push(change === 'changed' ? 'only its formatting changed (no setting did)' : 'no settings');
  return new ConfigFileChangedError(file, changes, change);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The settings (leaf paths) that differ; a side without an object where the other has one counts as empty. */
function settingChanges(before: unknown, after: unknown, path: string): string[] {
  if (isRecord(before) || isRecord(after)) {
    if ((before === undefined || isRecord(before)) && (after === undefined || isRecord(after))) {
      const old = before ?? {};
      const now = after ?? {};
      const keys = [...new Set([...Object.keys(old), ...Object.keys(now)])];
      return keys.flatMap((key) => settingChanges(old[key], now[key], path === '' ? key : `${path}.${key}`));
    }
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [`${path === '' ? ROOT_PATH : path} (${shown(before)} → ${shown(after)})`];
}

function shown(value: unknown): string {
  if (value === undefined) return 'absent';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
