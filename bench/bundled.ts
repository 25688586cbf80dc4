import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { FUNCTION_BUNDLING } from '../infra/constructs/function-code';
import { destinationDefaults } from '../infra/config/defaults';

/**
 * Runs a bench entry as Lambda runs the consumers: bundled by esbuild with the functions' own settings (minified, no
 * kept names), not through tsx, whose on-the-fly transform keeps every function's name with a call per closure made —
 * a cost the engine's closures pay and decoding (mostly JSON.parse and the SDK's unmarshalling) hardly does. Targets
 * this machine's Node rather than the functions' `nodejs22.x`, so the bundle runs here.
 *
 * The child gets the heap of a function at the default memory size (`lambdaHeapFlags`), writes its lines to stderr
 * (passed through) and its result as JSON to the file it is given.
 */
export async function runBundled<T>(entry: string, env: Readonly<Record<string, string>> = {}): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ordered-fanout-bench-'));
  try {
    const outfile = join(dir, 'entry.mjs');
    await build({
      entryPoints: [resolve(entry)],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: `node${process.versions.node.split('.')[0]}`,
      minify: FUNCTION_BUNDLING.minify ?? false,
      keepNames: FUNCTION_BUNDLING.keepNames ?? false,
      // CommonJS dependencies bundled into ESM still call require() for Node's built-ins.
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      logLevel: 'warning',
    });
    const resultFile = join(dir, 'result.json');
    await new Promise<void>((done, fail) => {
      const child = spawn(process.execPath, ['--expose-gc', ...lambdaHeapFlags(destinationDefaults().memorySize), outfile], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env, BENCH_RESULT_FILE: resultFile } });
      child.on('error', fail);
      child.on('exit', (code, signal) => (code === 0 ? done() : fail(new Error(`${entry} (bundled) exited with ${signal ?? code}`))));
    });
    return JSON.parse(readFileSync(resultFile, 'utf8')) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The V8 heap Lambda's Node.js bootstrap gives a function of `memoryMb`: a tenth of the memory for the young
 * generation (two semi-spaces), the rest for the old one. V8's own default would scale with this machine's memory
 * instead (16 MiB semi-spaces on a 24 GiB machine, against 25 on a 512 MB function), and how often the scavenger runs
 * is a large part of what batches of short-lived records cost.
 */
export function lambdaHeapFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [`--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memoryMb - newSpace}`];
}
