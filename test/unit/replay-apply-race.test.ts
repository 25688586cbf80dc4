import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  ConfigFileChangedError,
  ConfigFileLockedError,
  configFileLockPath,
  readConfigFileSnapshot,
  replaceConfigFile,
} from '../../infra/config/config-file-write';
import { replay, type ReplayOptions } from '../../ops/commands/replay';
import { recordingIO } from '../../ops/io';
import { liveDestinations, replayTarget } from '../support/replay-target';

const STREAM = 'arn:aws:kinesis:eu-west-1:123456789012:stream/accounts-changes';
const HOUR = 3_600_000;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * A ledger with nothing in it whose first non-Scan request (the plan's look at the accounts waiting behind a gap, made
 * after the replay has read the configuration file and before it writes it) waits until `release()`: the seam that
 * lets another apply run to its end in between, with no timing involved.
 */
function gatedLedger(): { client: DynamoDBClient; reached: Promise<void>; release: () => void } {
  let release!: () => void;
  let reach!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const send = async (command: object) => {
    if (command instanceof ScanCommand) return { Items: [], ScannedCount: 0 };
    reach();
    await opened;
    return { Items: [] };
  };
  return { client: { send } as unknown as DynamoDBClient, reached, release };
}

const target = (dynamodb?: DynamoDBClient) => replayTarget('OrderedFanout', STREAM, liveDestinations(STREAM), dynamodb);

function fixture(initial?: object) {
  const dir = mkdtempSync(join(tmpdir(), 'replay-race-'));
  const file = join(dir, 'pipeline.json');
  if (initial) writeFileSync(file, `${JSON.stringify(initial, null, 2)}\n`);
  const deploys: string[][] = [];
  const deploy = async (args: string[]) => {
    deploys.push(args);
    return 0;
  };
  const options = (destination: string, epoch: string): ReplayOptions => ({
    destination,
    epoch,
    from: new Date(Date.now() - HOUR).toISOString(),
    configFile: file,
    apply: true,
    deploy,
  });
  const read = () => JSON.parse(readFileSync(file, 'utf8')) as { destinations: Record<string, Record<string, unknown>>; alarmEmails?: string[] };
  /** What is left beside the file: no lock, no temporary file. */
  const leftovers = () => readdirSync(dir).filter((name) => name !== 'pipeline.json');
  return { dir, file, deploys, options, read, leftovers };
}

/** A pid that ran on this host and has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('fanout replay --apply, two at once', () => {
  // Regression: the second apply to write pipeline.json replaced the first's replay epoch without a word, and both
  // exited 0: the first's deploy then ran a configuration that no longer held its replay.
  it('refuses the apply that read pipeline.json before another apply wrote it, naming what changed; the other keeps its replay', async () => {
    const { file, deploys, options, read, leftovers } = fixture({ alarmEmails: ['oncall@example.com'] });
    const gate = gatedLedger();
    const first = recordingIO();
    const firstRun = replay(target(gate.client), options('fraud', 'replay-a'), first);
    await gate.reached;

    const second = recordingIO();
    expect(await replay(target(), options('fraud', 'replay-b'), second), second.errors.join('\n')).toBe(0);
    expect(read().destinations.fraud?.epoch).toBe('replay-b');

    gate.release();
    expect(await firstRun).toBe(2);
    const message = first.errors.join('\n');
    expect(message).toContain(`replay: ${file} changed since this replay read it`);
    expect(message).toContain('destinations.fraud.epoch (absent → "replay-b")');
    expect(message).toMatch(/nothing written, nothing deployed: run the command again/);
    expect(read()).toMatchObject({ alarmEmails: ['oncall@example.com'], destinations: { fraud: { epoch: 'replay-b' } } });
    expect(deploys).toHaveLength(1);
    expect(leftovers()).toEqual([]);
  });

  it('refuses it as well when the other apply replayed another destination, so the plan it printed is never deployed stale', async () => {
    const { file, deploys, options, read, leftovers } = fixture({ destinations: { search: { batchSize: 500 } } });
    const gate = gatedLedger();
    const first = recordingIO();
    const firstRun = replay(target(gate.client), options('search', 'replay-s'), first);
    await gate.reached;
    expect(await replay(target(), options('fraud', 'replay-f'), recordingIO())).toBe(0);
    gate.release();
    expect(await firstRun).toBe(2);
    expect(first.errors.join('\n')).toContain(`replay: ${file} changed since this replay read it`);
    expect(first.errors.join('\n')).toContain('destinations.fraud.epoch (absent → "replay-f")');
    expect(read().destinations).toMatchObject({ search: { batchSize: 500 }, fraud: { epoch: 'replay-f' } });
    expect(read().destinations.search?.epoch).toBeUndefined();
    expect(deploys).toHaveLength(1);
    expect(leftovers()).toEqual([]);
  });

  it('applies both, one after the other, when they do not overlap: neither change is lost', async () => {
    const { options, read, deploys, leftovers } = fixture();
    const io = recordingIO();
    expect(await replay(target(), options('fraud', 'replay-f'), io), io.errors.join('\n')).toBe(0);
    expect(await replay(target(), options('search', 'replay-s'), io), io.errors.join('\n')).toBe(0);
    expect(read().destinations).toMatchObject({ fraud: { epoch: 'replay-f' }, search: { epoch: 'replay-s' } });
    expect(deploys).toHaveLength(2);
    expect(leftovers()).toEqual([]);
  });

  it('refuses while another fanout holds the lock, naming it, and leaves its lock alone', async () => {
    const { file, options, deploys } = fixture({ destinations: {} });
    const lock = configFileLockPath(file);
    const holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    writeFileSync(lock, JSON.stringify(holder));
    const before = readFileSync(file, 'utf8');
    const io = recordingIO();
    expect(await replay(target(), options('fraud', 'replay-f'), io)).toBe(2);
    expect(io.errors.join('\n')).toContain(`replay: ${file} is being written by another fanout (pid ${process.pid} on ${hostname()}, since ${holder.since}; lock ${lock})`);
    expect(io.errors.join('\n')).toMatch(/nothing written, nothing deployed: run the command again/);
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(JSON.parse(readFileSync(lock, 'utf8'))).toEqual(holder);
    expect(deploys).toEqual([]);
  });

  it('takes over a lock whose holder is no longer running, says so, and removes it after writing', async () => {
    const { file, options, read, leftovers } = fixture({ destinations: {} });
    const pid = deadPid();
    writeFileSync(configFileLockPath(file), JSON.stringify({ pid, host: hostname(), since: new Date().toISOString() }));
    const io = recordingIO();
    expect(await replay(target(), options('fraud', 'replay-f'), io), io.errors.join('\n')).toBe(0);
    expect(io.errors.join('\n')).toContain(`removed a stale lock ${configFileLockPath(file)} (pid ${pid} on ${hostname()} is not running)`);
    expect(read().destinations.fraud?.epoch).toBe('replay-f');
    expect(leftovers()).toEqual([]);
  });
});

describe('replaceConfigFile', () => {
  it('writes when the file is as it was read, and refuses with ConfigFileChangedError when it is not', () => {
    const { file, leftovers } = fixture({ destinations: { fraud: { batchSize: 10 } } });
    const snapshot = readConfigFileSnapshot(file);
    writeFileSync(file, JSON.stringify({ destinations: { fraud: { batchSize: 20 } }, alarmEmails: ['a@example.com'] }));
    const error = (() => {
      try {
        replaceConfigFile(snapshot, '{}\n');
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigFileChangedError);
    expect((error as ConfigFileChangedError).changes).toEqual(['destinations.fraud.batchSize (10 → 20)', 'alarmEmails (absent → ["a@example.com"])']);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ destinations: { fraud: { batchSize: 20 } } });
    expect(leftovers()).toEqual([]);

    const fresh = readConfigFileSnapshot(file);
    expect(replaceConfigFile(fresh, '{"destinations":{}}\n')).toEqual({ created: false });
    expect(readFileSync(file, 'utf8')).toBe('{"destinations":{}}\n');
    expect(leftovers()).toEqual([]);
  });

  it('refuses to create a file another writer created, and to write one another removed', () => {
    const { file } = fixture();
    const missing = readConfigFileSnapshot(file);
    expect(missing.text).toBeUndefined();
    writeFileSync(file, '{}\n');
    expect(() => replaceConfigFile(missing, '{"a":1}\n')).toThrow(/was created since it was read/);
    const present = readConfigFileSnapshot(file);
    rmSync(file);
    expect(() => replaceConfigFile(present, '{"a":1}\n')).toThrow(/was removed since it was read/);
    expect(existsSync(file)).toBe(false);
    expect(replaceConfigFile(readConfigFileSnapshot(file), '{"a":1}\n')).toEqual({ created: true });
  });

  it('says a change was formatting only when no setting differs', () => {
    const { file } = fixture({ destinations: {} });
    const snapshot = readConfigFileSnapshot(file);
    writeFileSync(file, '{"destinations":{}}');
    expect(() => replaceConfigFile(snapshot, '{}\n')).toThrow(ConfigFileChangedError);
    expect(() => replaceConfigFile(snapshot, '{}\n')).toThrow(/only its formatting changed/);
  });

  it('refuses while the lock is held, with ConfigFileLockedError naming the holder', () => {
    const { file } = fixture({});
    writeFileSync(configFileLockPath(file), JSON.stringify({ pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z' }));
    expect(() => replaceConfigFile(readConfigFileSnapshot(file), '{"a":1}\n')).toThrow(ConfigFileLockedError);
  });

  // Two processes, each 25 read-modify-writes of one counter, retrying when refused: a lost update would leave the
  // counter below the number of writes that reported success. The interleaving varies; what is checked does not.
  it('loses no update between two processes writing at once', async () => {
    const { file } = fixture({ counter: 0 });
    const writer = join(ROOT, 'test/support/config-file-writer.ts');
    const run = () =>
      new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', writer, file, '25'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.on('error', reject);
        child.on('exit', (code) => (code === 0 ? resolve(Number(out)) : reject(new Error(`writer exited ${code}`))));
      });
    const written = await Promise.all([run(), run()]);
    expect(written).toEqual([25, 25]);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ counter: 50 });
    expect(readdirSync(dirname(file))).toEqual(['pipeline.json']);
  });
});
