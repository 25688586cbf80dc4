/**
 * `npm run build`: the package as another CDK app installs it, in `dist/`.
 *
 * - `dist/index.js` (ESM) and `dist/index.cjs` (CommonJS): `infra/index.ts` bundled by esbuild with the code it uses
 *   from `shared/`, so the only packages it imports are the peer dependencies `aws-cdk-lib` and `constructs` (the
 *   app's own copies: two copies of `aws-cdk-lib` in one app do not mix). Bundled rather than emitted file by file,
 *   because the sources import without extensions, which Node's ESM loader refuses.
 * - `dist/types/`: declarations by tsc (`tsconfig.build.json`), their relative imports given the `.js` extensions that
 *   NodeNext resolution requires.
 * - `dist/lambda/<source>/index.js`: every handler of `FUNCTION_SOURCES`, bundled like `NodejsFunction` bundles it
 *   (`FUNCTION_BUNDLING`), for the construct to deploy when the sources are not there (see `pipelineFunction`).
 * - `dist/cli/fanout.js`: the `fanout` command (`ops/main.ts`) bundled, which `ops/bin/fanout.mjs` (the package's
 *   `bin`) runs where the sources are not: an installed package has neither them nor tsx.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { FUNCTION_BUNDLING, PACKAGE_ROOT, prebuiltPath } from '../constructs/function-code';
import { FUNCTION_SOURCES } from '../plugins/builtin-infra-plugins';

const DIST = join(PACKAGE_ROOT, 'dist');
/** The app provides these: the construct's classes must be the app's own. */
const PEERS = ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'];

async function main(): Promise<void> {
  rmSync(DIST, { recursive: true, force: true });
  await buildLibrary();
  await buildRuntime();
  buildDeclarations();
  await Promise.all(FUNCTION_SOURCES.map(buildHandler));
  await buildCli();
  console.log(`built ${DIST}: index.js, index.cjs, runtime.js, runtime.cjs, types/, lambda/ (${FUNCTION_SOURCES.length} handlers), cli/fanout.js`);
}

interface PackageJson {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function packageJson(): PackageJson {
  return JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as PackageJson;
}

async function buildLibrary(): Promise<void> {
  const common: BuildOptions = {
    entryPoints: [join(PACKAGE_ROOT, 'infra/index.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    external: PEERS,
    sourcemap: true,
    logLevel: 'warning',
  };
  await build({ ...common, format: 'esm', outfile: join(DIST, 'index.js') });
  // CommonJS has no import.meta: the package root is found from the file's own URL all the same.
  await build({
    ...common,
    format: 'cjs',
    outfile: join(DIST, 'index.cjs'),
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
}

/**
 * `ordered-fanout/runtime`: what a plug-in's handler imports (`pluginHandler`, the `Destination` port, the retrier).
 * Its dependencies stay external: the plug-in's own bundler resolves them from the installed package's dependencies.
 */
async function buildRuntime(): Promise<void> {
  const { dependencies = {} } = packageJson();
  const common: BuildOptions = {
    entryPoints: [join(PACKAGE_ROOT, 'shared/destination-plugin/index.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    external: Object.keys(dependencies).flatMap((name) => [name, `${name}/*`]),
    sourcemap: true,
    logLevel: 'warning',
  };
  await build({ ...common, format: 'esm', outfile: join(DIST, 'runtime.js') });
  await build({ ...common, format: 'cjs', outfile: join(DIST, 'runtime.cjs') });
}

function buildDeclarations(): void {
  execFileSync(join(PACKAGE_ROOT, 'node_modules/.bin/tsc'), ['-p', join(PACKAGE_ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  for (const file of walk(join(DIST, 'types'))) {
    if (file.endsWith('.d.ts')) writeFileSync(file, withExtensions(file, readFileSync(file, 'utf8')));
  }
}

/** `from './x'` → `from './x.js'` (or `'./x/index.js'`), as NodeNext resolution requires of an ES module. */
function withExtensions(file: string, text: string): string {
  return text.replace(/(from\s+|import\()(['"])(\.{1,2}\/[^'"]+)\2/g, (match, lead: string, quote: string, spec: string) => {
    if (/\.(js|json)$/.test(spec)) return match;
    const target = resolve(dirname(file), spec);
    const rewritten = existsSync(`${target}.d.ts`) ? `${spec}.js` : existsSync(join(target, 'index.d.ts')) ? `${spec}/index.js` : undefined;
    if (rewritten === undefined) throw new Error(`${file}: cannot resolve ${spec}`);
    return `${lead}${quote}${rewritten}${quote}`;
  });
}

async function buildHandler(source: string): Promise<void> {
  await build({
    entryPoints: [join(PACKAGE_ROOT, source)],
    outfile: join(prebuiltPath(source), 'index.js'),
    bundle: true,
    platform: 'node',
    target: FUNCTION_BUNDLING.target ?? 'node22',
    format: 'cjs',
    minify: FUNCTION_BUNDLING.minify ?? false,
    sourcemap: FUNCTION_BUNDLING.sourceMap ?? false,
    logLevel: 'warning',
  });
}

/**
 * Packages the command imports only through the local pipeline of `npm start` (`local/pipeline/environment.ts`, which
 * `fanout replay` reads a constant from), and never calls: devDependencies, so not installed with the package. The
 * bundle gets a stand-in of each export named here that throws if it is called; an import of another name from them
 * fails the build ("No matching export").
 */
const CLONE_ONLY: Record<string, readonly string[]> = {
  fauxqs: ['startFauxqs'],
  '@aws-sdk/client-dynamodb-streams': ['DynamoDBStreamsClient'],
};

/**
 * `dist/cli/fanout.js`: `ops/main.ts` and the sources it imports, bundled (they import without file extensions, which
 * Node's ESM loader refuses). The packages stay external, and must be dependencies or peer dependencies (installed
 * with the package; the peers are the installing app's `aws-cdk-lib` and `constructs`): importing any other package,
 * a devDependency, fails the build, naming the importer. Two levels below the package root, as the sources it comes
 * from are, so that the paths they resolve from their own location (`../../`) name the package root here too.
 */
async function buildCli(): Promise<void> {
  const { dependencies = {}, peerDependencies = {} } = packageJson();
  const installed = new Set([...Object.keys(dependencies), ...Object.keys(peerDependencies)]);
  await build({
    entryPoints: [join(PACKAGE_ROOT, 'ops/main.ts')],
    outfile: join(DIST, 'cli', 'fanout.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    logLevel: 'warning',
    plugins: [installedPackagesOnly(installed)],
  });
}

function installedPackagesOnly(installed: ReadonlySet<string>): Plugin {
  return {
    name: 'installed-packages-only',
    setup(esbuild) {
      esbuild.onResolve({ filter: /^[^./]/ }, ({ path, importer }) => {
        const name = path.startsWith('@') ? path.split('/').slice(0, 2).join('/') : path.split('/')[0]!;
        if (path.startsWith('node:') || builtinModules.includes(name)) return { path, external: true };
        if (name in CLONE_ONLY) return { path: name, namespace: 'clone-only' };
        if (installed.has(name)) return { path, external: true };
        const by = relative(PACKAGE_ROOT, importer);
        return { errors: [{ text: `${by} imports ${path}, which is neither a dependency nor a peer dependency: the installed fanout would not find it` }] };
      });
      esbuild.onLoad({ filter: /.*/, namespace: 'clone-only' }, ({ path }) => {
        const message = `${path} is used only by the local pipeline of a clone (npm start), not by the installed fanout`;
        const stubs = (CLONE_ONLY[path] ?? []).map((name) => `export function ${name}() { throw new Error(${JSON.stringify(message)}); }`);
        return { contents: stubs.join('\n'), loader: 'js' };
      });
    },
  };
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

await main();
