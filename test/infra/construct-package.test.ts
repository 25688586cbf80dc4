import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { OrderedFanout } from 'ordered-fanout';

// Asset metadata, as the cdk CLI asks for it: it names each function's asset directory.
const app = new App({ outdir: process.argv[2], context: { 'aws:cdk:enable-asset-metadata': true } });
const stack = new Stack(app, 'PlatformTeam', { env: { account: '123456789012', region: 'eu-west-1' } });
const fanout = new OrderedFanout(stack, 'Fanout', {
  destinations: { search: { index: 'people' }, fraud: { batchSize: 50 } },
});
fanout.grantReadLedger(fanout.consumer('fraud').role);
fanout.addOperatorOutputs();
app.synth();
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
    for (const peer of ['aws-cdk-lib', 'constructs']) symlinkSync(join(ROOT, 'node_modules', peer), join(dir, 'node_modules', peer), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'platform-team-app', private: true, type: 'module' }));
    writeFileSync(join(dir, 'app.js'), APP);
    await run(process.execPath, [join(dir, 'app.js'), out], { cwd: dir, timeout: 60_000 });
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

  it('has exactly two consumers: two EFO consumers, two mappings, two consumer functions', () => {
    expect(ofType('AWS::Kinesis::StreamConsumer')).toHaveLength(2);
    expect(ofType('AWS::Lambda::EventSourceMapping')).toHaveLength(2);
    const descriptions = ofType('AWS::Lambda::Function').map((fn) => fn.Properties.Description as string | undefined);
    expect(descriptions.filter((description) => description?.endsWith(' consumer')).sort()).toEqual([
      'ordered-fanout fraud consumer',
      'ordered-fanout search consumer',
    ]);
    expect(descriptions).toContain('ordered-fanout fraud gap sweeper');
    expect(descriptions).not.toContain('ordered-fanout audit consumer');
  });

  it('deploys the handlers prebuilt by npm run build (no bundling in the app)', () => {
    const ours = ofType('AWS::Lambda::Function').filter((fn) => String(fn.Properties.Description).startsWith('ordered-fanout'));
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
