import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
/** Not part of what `npm pack` reads, or rebuilt by it. */
const NOT_COPIED = new Set(['node_modules', '.git', 'dist', 'cdk.out', 'coverage', '.ordered-fanout', '.prof']);

interface PackedPackage {
  bin: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const packageName = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

/**
 * The `fanout` command as a user gets it: `npm pack` (its `prepack` builds `dist/`) and the tarball unpacked into a
 * temporary project's `node_modules/ordered-fanout`, as `npm install` would put it. Next to it are only the packed
 * package's dependencies and peer dependencies, symlinked from this repository's `node_modules` (no network): no tsx,
 * no devDependency, no source outside the tarball. The package is packed from a copy of the working tree, so that
 * this test's build and the construct test's (`construct-package.test.ts`), which both rewrite `dist/`, do not race.
 */
describe('the packed fanout command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ordered-fanout-cli-'));
  const app = join(dir, 'app');
  const installed = join(app, 'node_modules', 'ordered-fanout');
  let manifest: PackedPackage;
  let packedFiles: string[] = [];
  let bin = '';

  /** `fanout ...` in the project, as its `node_modules/.bin/fanout` runs it. */
  const fanout = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    delete env.NODE_PATH;
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: app, env, timeout: 30_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  };

  beforeAll(async () => {
    const source = join(dir, 'source');
    cpSync(ROOT, source, { recursive: true, filter: (path) => !NOT_COPIED.has(relative(ROOT, path)) });
    symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: source, timeout: 150_000 });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as [{ filename: string; files: { path: string }[] }];
    packedFiles = packed.files.map((file) => file.path);
    mkdirSync(installed, { recursive: true });
    await run('tar', ['xzf', join(dir, packed.filename), '-C', installed, '--strip-components=1']);
    manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as PackedPackage;
    for (const name of Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })) {
      const link = join(app, 'node_modules', name);
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', name), link, 'dir');
    }
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'operator-project', private: true }));
    bin = join(installed, manifest.bin.fanout ?? '');
  }, 240_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ships the bin and every file it imports; every package those import is a dependency or a peer dependency', async () => {
    expect(manifest.bin.fanout).toBeDefined();
    expect(packedFiles).toContain(manifest.bin.fanout);
    const graph = (entry: string) => build({ entryPoints: [entry], absWorkingDir: installed, bundle: true, packages: 'external', platform: 'node', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
    const result = await graph(bin).catch((error: Error) => error);
    if (result instanceof Error) throw new Error(`the packed bin imports a file the package lacks: ${result.message}`);
    const files = Object.keys(result.metafile.inputs);
    for (const file of files) expect(packedFiles, file).toContain(file);
    expect(files).toContain('dist/cli/fanout.js');
    const provided = new Set(Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }));
    const imported = Object.values(result.metafile.inputs).flatMap((input) =>
      // A dynamic import in the bin itself is its clone branch (tsx, for the sources the package does not ship).
      input.imports.filter((imported) => imported.external && imported.kind !== 'dynamic-import').map((imported) => imported.path),
    );
    const missing = [...new Set(imported.filter((path) => !isBuiltin(path)).map(packageName))].filter((name) => !provided.has(name));
    expect(missing, 'imported, but neither a dependency nor a peer dependency').toEqual([]);
    const bundle = (await graph(join(installed, 'dist/cli/fanout.js'))).metafile;
    const lazy = Object.values(bundle.inputs).flatMap((input) => input.imports.filter((imported) => imported.external && !isBuiltin(imported.path)).map((imported) => packageName(imported.path)));
    expect([...new Set(lazy)].filter((name) => !provided.has(name)), 'the bundle imports, dynamically or not').toEqual([]);
  });

  it('ships no sources and no tsx', () => {
    expect(packedFiles.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    expect(Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })).not.toContain('tsx');
  });

  it('runs: --help lists the commands', async () => {
    const { code, stdout, stderr } = await fanout('--help');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    for (const command of ['status', 'reconcile', 'redrive', 'replay', 'plan']) expect(stdout).toContain(command);
  });

  it('runs a command: plan --json', async () => {
    const { code, stdout } = await fanout('plan', '--writes-per-second', '100', '--accounts', '1000', '--item-bytes', '512', '--json');
    expect(code).toBe(0);
    const { plan } = JSON.parse(stdout) as { plan: { inputs: { writesPerSecond: number; destinations: string[] } } };
    expect(plan.inputs.writesPerSecond).toBe(100);
    expect(plan.inputs.destinations).toEqual(['audit', 'search', 'fraud']);
  });

  it('fails as a command does, not as a missing module: status --local without a local pipeline', async () => {
    const { code, stderr } = await fanout('status', '--local');
    expect(stderr).not.toMatch(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
    expect(stderr).toContain('no local pipeline is running');
    expect(code).toBe(2);
  });
});
