import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const DESTINATION_KEYS = [
  'deadLettered',
  'delivered',
  'duplicatesSkipped',
  'healed',
  'latencyMs',
  'missing',
  'orderViolations',
  'parked',
  'recordsPerSecond',
  'stale',
];

describe('npm start: the command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'npm-start-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the stable JSON report on stdout and dumps what each destination received', async () => {
    const { stdout } = await run(
      join(ROOT, 'node_modules/.bin/tsx'),
      ['local/main.ts', '--accounts', '4', '--changes', '30', '--seed', '5', '--json', '--dump', join(dir, 'dump'), '--logs', join(dir, 'logs')],
      { cwd: ROOT, timeout: 180_000 },
    );
    const report = JSON.parse(stdout) as {
      ok: boolean;
      changes: number;
      accounts: number;
      destinations: Record<string, Record<string, unknown> & { latencyMs: Record<string, number> }>;
    };
    expect(report.ok).toBe(true);
    expect(report.accounts).toBe(4);
    expect(Object.keys(report.destinations).sort()).toEqual(['audit', 'fraud', 'search']);
    for (const destination of Object.values(report.destinations)) {
      expect(Object.keys(destination).sort()).toEqual(DESTINATION_KEYS);
      expect(Object.keys(destination.latencyMs).sort()).toEqual(['p50', 'p99']);
    }

    const lines = (name: string) =>
      readFileSync(join(dir, 'dump', `${name}.jsonl`), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const table = lines('table');
    expect(table).toHaveLength(4);
    expect(Object.keys(table[0] ?? {}).sort()).toEqual(['accountId', 'balance', 'version']);
    expect(table.reduce((sum, account) => sum + (account.version as number), 0)).toBe(report.changes);
    expect(lines('audit')).toHaveLength(report.changes);
    expect(lines('fraud')).toHaveLength(report.changes);
    for (const line of [...lines('audit'), ...lines('search'), ...lines('fraud')]) expect(Object.keys(line).sort()).toEqual(['accountId', 'version']);
    // The functions' logs are Powertools JSON with the destination on every line.
    const log = readFileSync(join(dir, 'logs', 'fraud.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(log.some((line) => line.message === 'batch done' && line.destination === 'fraud')).toBe(true);
  });

  it('refuses a bad option with a message that names it', async () => {
    const failure = await run(join(ROOT, 'node_modules/.bin/tsx'), ['local/main.ts', '--fail', 'nowhere:2'], { cwd: ROOT }).catch(
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure).toMatchObject({ code: 1 });
    expect((failure as { stderr: string }).stderr).toContain('--fail');
    for (const [option, value] of [['--destination-faults', 'search:teapot:0.1'], ['--crash-rate', '2'], ['--permanent-gap-rate', 'x']]) {
      const refused = await run(join(ROOT, 'node_modules/.bin/tsx'), ['local/main.ts', option as string, value as string], { cwd: ROOT }).catch(
        (error: { code: number; stderr: string }) => error,
      );
      expect(refused, option).toMatchObject({ code: 1 });
      expect((refused as { stderr: string }).stderr, option).toContain(option);
    }
  });
});
