import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { FUNCTION_BUNDLING } from '../infra/constructs/function-code';
import { destinationDefaults } from '../infra/config/defaults';

/** A bench entry bundled as the functions are, in a temporary folder removed by `dispose`. */
export interface Bundle {
  readonly file: string;
  dispose(): void;
}

/**
 * Bundles a bench entry as Lambda runs the consumers: by esbuild with the functions' own settings (minified, no kept
 * names), not through tsx, whose on-the-fly transform keeps every function's name with a call per closure made — a
 * cost the engine's closures pay and decoding (mostly JSON.parse and the SDK's unmarshalling) hardly does. Targets
 * this machine's Node rather than the functions' `nodejs22.x`, so the bundle runs here.
 */
export async function bundle(entry: string): Promise<Bundle> {
  const dir = mkdtempSync(join(tmpdir(), 'ordered-fanout-bench-'));
  const file = join(dir, 'entry.mjs');
  try {
    await build({
      entryPoints: [resolve(entry)],
      outfile: file,
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
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { file, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The Node.js flags a bundled bench process runs with: the heap of a function at the default memory size. */
export function functionNodeFlags(): string[] {
  return ['--expose-gc', ...lambdaHeapFlags(destinationDefaults().memorySize)];
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
