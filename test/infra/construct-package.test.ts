import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

/** A separate CDK app, in ESM, that knows the package only by its name. */
const APP = `
import { App, Stack } from 'aws-cdk-lib';
import { fileURLToPath } from 'node:url';
import { OrderedFanout, pluginDestination } from 'ordered-fanout';

// A plug-in of the app's own (README, *Write your own destination*): its handler is bundled from the app, not the package.
const webhookInfra = {
  name: 'webhook', mode: 'latest-state', handler: fileURLToPath(new URL('./webhook-handler.js', import.meta.url)),
  createTarget: (_scope, _id, { options }) => ({ owned: false, environment: { WEBHOOK_URL: options.url }, grantDeliver: () => undefined }),
};

// Asset metadata, as the cdk CLI asks for it: it names each function's asset directory.
const app = new App({ outdir: process.argv[2], context: { 'aws:cdk:enable-asset-metadata': true } });
const stack = new Stack(app, 'PlatformTeam', { env: { account: '123456789012', region: 'eu-west-1' } });
const fanout = new OrderedFanout(stack, 'Fanout', {
  destinations: { search: { index: 'people' }, fraud: { batchSize: 50 } },
  plugins: [pluginDestination(webhookInfra, { url: 'https://ledger.example.com/changes' })],
});
fanout.grantReadLedger(fanout.consumer('fraud').role);
fanout.addOperatorOutputs();
app.synth();
`;

/** The plug-in's handler, as the app writes it: it imports only the package's runtime entry point. */
const WEBHOOK_HANDLER = `
import { pluginHandler, requiredString } from 'ordered-fanout/runtime';
export const handler = pluginHandler({
  name: 'webhook', mode: 'latest-state',
  readSettings: (env) => ({ url: requiredString(env, 'WEBHOOK_URL') }),
  createDestination: () => ({ destination: { name: 'webhook', mode: 'latest-state', deliver: async (deliveries) => deliveries.map(() => ({ status: 'delivered' })) }, close: () => undefined }),
});
`;

/** The same app's types, checked the strictest way a consumer resolves them (NodeNext, ES module). */
const TYPED_APP = `
import { App, Stack } from 'aws-cdk-lib';
import { OrderedFanout, type OrderedFanoutProps } from 'ordered-fanout';

const props: OrderedFanoutProps = { destinations: { audit: { objectLockDays: 30, alarms: { iteratorAgeMs: 5000 } }, fraud: {} } };
const fanout = new OrderedFanout(new Stack(new App(), 'Typed'), 'Fanout', props);
export const lag: number = fanout.metricIteratorAge('audit').period.toSeconds();
// @ts-expect-error: not a destination (so the declarations did resolve: with any, this would not be an error)
fanout.metricIteratorAge('ledger');
`;

/**
 * `npm run build`, `npm pack`, and the tarball unpacked into a temporary app's `node_modules/ordered-fanout`, as
 * `npm install` would put it. The app resolves `aws-cdk-lib` and `constructs` (the package's peer dependencies) from
 * this repository's `node_modules` through symlinks: no network.
 */
describe('the built package in a separate CDK app', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ordered-fanout-app-'));
  const out = join(dir, 'cdk.out');
  let resources: Resource[] = [];
  let outputKeys: string[] = [];

  beforeAll(async () => {
    await run('npm', ['run', 'build'], { cwd: ROOT, timeout: 150_000 });
    const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, timeout: 60_000 });
    const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
    const installed = join(dir, 'node_modules', 'ordered-fanout');
    mkdirSync(installed, { recursive: true });
    await run('tar', ['xzf', join(dir, filename), '-C', installed, '--strip-components=1']);
    // esbuild too: the app bundles its own plug-in's handler (README: an absolute handler needs esbuild in the app),
    // and with it what `ordered-fanout/runtime` imports: the package's dependencies, which npm install would add.
    const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const peer of ['aws-cdk-lib', 'constructs', 'esbuild', '@esbuild', ...Object.keys(dependencies)]) {
      mkdirSync(dirname(join(dir, 'node_modules', peer)), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', peer), join(dir, 'node_modules', peer), 'dir');
    }
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'platform-team-app', private: true, type: 'module' }));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'platform-team-app', lockfileVersion: 3, packages: {} }));
    writeFileSync(join(dir, 'app.js'), APP);
    writeFileSync(join(dir, 'webhook-handler.js'), WEBHOOK_HANDLER);
    await run(process.execPath, [join(dir, 'app.js'), out], { cwd: dir, timeout: 120_000 });
    const template = JSON.parse(readFileSync(join(out, 'PlatformTeam.template.json'), 'utf8')) as { Resources: Record<string, Resource>; Outputs?: Record<string, unknown> };
    resources = Object.values(template.Resources);
    outputKeys = Object.keys(template.Outputs ?? {});
  }, 280_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('publishes the outputs fanout reads (addOperatorOutputs)', () => {
    for (const key of ['OrderedFanoutPipeline', 'Destinations', 'LedgerTableName', 'ChangeStreamArn', 'FraudFunctionName', 'FraudSweeperFunctionName', 'SearchEpoch']) expect(outputKeys, key).toContain(key);
  });

  const ofType = (type: string): Resource[] => resources.filter((resource) => resource.Type === type);

  it('ships the built code and no sources', () => {
    const installed = join(dir, 'node_modules', 'ordered-fanout');
    expect(existsSync(join(installed, 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(installed, 'dist', 'types', 'infra', 'index.d.ts'))).toBe(true);
    expect(existsSync(join(installed, 'infra'))).toBe(false);
    expect(existsSync(join(installed, 'consumers'))).toBe(false);
  });

  it('creates the stream and the ledger table (and the source table)', () => {
    expect(ofType('AWS::Kinesis::Stream')).toHaveLength(1);
    const tables = ofType('AWS::DynamoDB::Table');
    expect(tables).toHaveLength(2);
    const ledger = tables.filter((table) => (table.Properties.GlobalSecondaryIndexes as { IndexName: string }[] | undefined)?.some((index) => index.IndexName === 'gaps'));
    expect(ledger).toHaveLength(1);
    const source = tables.filter((table) => table.Properties.KinesisStreamSpecification !== undefined);
    expect(source).toHaveLength(1);
  });

  it('has exactly three consumers (two built-ins, the plug-in): three EFO consumers, mappings and consumer functions', () => {
    expect(ofType('AWS::Kinesis::StreamConsumer')).toHaveLength(3);
    expect(ofType('AWS::Lambda::EventSourceMapping')).toHaveLength(3);
    const descriptions = ofType('AWS::Lambda::Function').map((fn) => fn.Properties.Description as string | undefined);
    expect(descriptions.filter((description) => description?.endsWith(' consumer')).sort()).toEqual([
      'ordered-fanout fraud consumer',
      'ordered-fanout search consumer',
      'ordered-fanout webhook consumer',
    ]);
    expect(descriptions).toContain('ordered-fanout fraud gap sweeper');
    expect(descriptions).not.toContain('ordered-fanout audit consumer');
  });

  it('deploys the handlers prebuilt by npm run build (no bundling in the app), and bundles the plug-in\'s from the app', () => {
    const functions = ofType('AWS::Lambda::Function').filter((fn) => String(fn.Properties.Description).startsWith('ordered-fanout'));
    const plugin = functions.filter((fn) => fn.Properties.Description === 'ordered-fanout webhook consumer');
    expect(plugin).toHaveLength(1);
    expect(existsSync(join(out, plugin[0]!.Metadata?.['aws:asset:path'] as string, 'index.js'))).toBe(true);
    const ours = functions.filter((fn) => !plugin.includes(fn));
    expect(ours).toHaveLength(4); // two consumers, the fraud sweeper, the search domain's roles custom resource
    for (const fn of ours) {
      expect(fn.Properties.Handler).toBe('index.handler');
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      const asset = fn.Metadata?.['aws:asset:path'] as string;
      expect(existsSync(join(out, asset, 'index.js')), asset).toBe(true);
      expect(existsSync(join(out, asset, 'index.js.map')), asset).toBe(true);
    }
  });

  it('type-checks an app against the declarations (NodeNext resolution)', async () => {
    writeFileSync(join(dir, 'typed.ts'), TYPED_APP);
    const options = { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: ['typed.ts'] }));
    await expect(run(join(ROOT, 'node_modules/.bin/tsc'), ['-p', dir], { cwd: dir, timeout: 60_000 })).resolves.toBeDefined();
  });

  it('loads from CommonJS too', async () => {
    const { stdout } = await run(process.execPath, ['-e', "process.stdout.write(typeof require('ordered-fanout').OrderedFanout)"], { cwd: dir });
    expect(stdout).toBe('function');
  });
});
