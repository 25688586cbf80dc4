import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

describe('npx cdk synth', () => {
  const out = mkdtempSync(join(tmpdir(), 'cdk-out-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('synthesizes offline with the local esbuild, no warnings of our own, a bundled handler per consumer, sweeper and custom resource', async () => {
    const { stderr } = await run(join(ROOT, 'node_modules/.bin/cdk'), ['synth', '--quiet', '--output', out], {
      cwd: ROOT,
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true' },
      timeout: 120_000,
    });
    // What remains once esbuild's progress lines are set aside must be empty: no CDK, construct or feature-flag warnings.
    const noise = /^(Bundling asset .*|\s*\.\.\..*|⚡ Done in .*|npm warn .*|\s*)$/;
    expect(stderr.split('\n').filter((line) => !noise.test(line))).toEqual([]);

    const template = JSON.parse(readFileSync(join(out, 'OrderedFanout.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown>; Metadata?: Record<string, string> }>;
    };
    const functions = Object.values(template.Resources).filter(
      (resource) => resource.Type === 'AWS::Lambda::Function' && (resource.Properties.Runtime as string) === 'nodejs22.x',
    );
    // Three consumers, two gap sweepers and the search domain's roles custom resource.
    expect(functions).toHaveLength(6);
    for (const fn of functions) {
      const asset = fn.Metadata?.['aws:asset:path'] as string;
      expect(existsSync(join(out, asset, 'index.js')), asset).toBe(true);
      expect(existsSync(join(out, asset, 'index.js.map')), asset).toBe(true);
    }
  }, 150_000); // The synth may take its whole 120 s on two cores shared with the rest of the suite.
});
