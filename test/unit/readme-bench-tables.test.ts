import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderReadmeTables, withBenchTables } from '../../bench/readme-tables';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const results = JSON.parse(readFileSync(new URL('../../bench/results.json', import.meta.url), 'utf8'));

describe("the README's bench tables", () => {
  it('are the ones bench/results.json renders (npm run bench:readme rewrites them)', () => {
    for (const [name, body] of renderReadmeTables(results)) {
      const start = readme.indexOf(`<!-- bench:${name} -->`);
      const end = readme.indexOf(`<!-- /bench:${name} -->`);
      expect(start, `README.md has a bench:${name} block`).toBeGreaterThanOrEqual(0);
      expect(readme.slice(start, end).trim(), `README.md's bench:${name} block`).toBe(`<!-- bench:${name} -->\n${body}`);
    }
    expect(withBenchTables(readme, results)).toBe(readme);
  });

  it('show a changed recording: a figure moved in the results moves in the table', () => {
    const changed = structuredClone(results);
    changed.engine.modes.everyVersion.overheadRatio = 1.234;
    changed.ledger.cold.engineEveryVersion = 1.5;
    const rewritten = withBenchTables(readme, changed);
    expect(rewritten).not.toBe(readme);
    expect(rewritten).toContain('| `every-version` | 55,981 | 1.234 |'.replace('55,981', changed.engine.modes.everyVersion.recordsPerSecond.toLocaleString('en-US')));
    expect(rewritten).toMatch(/misses \(`every-version`\) the goal/);
  });

  it('refuse a README without the markers rather than leave a table stale', () => {
    expect(() => withBenchTables(readme.replace('<!-- bench:ledger -->', ''), results)).toThrow(/bench:ledger/);
  });
});
