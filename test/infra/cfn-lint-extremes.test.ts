import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { ledgerQueueInfra } from '../../destinations/ledger-queue/infra';
import { parsePipelineConfig } from '../../infra/config/load-config';
import { OrderedFanoutStack } from '../../infra/ordered-fanout-stack';
import { cdkJsonContext } from './cdk-context';

/**
 * cfn-lint over the edges of the configuration space: every numeric setting at the smallest and at the largest value
 * the checks accept (a plug-in destination included), under the shortest and the longest stack name (the names of
 * alarms and EFO consumers are built from it). What synth accepts at its edges, CloudFormation must take too.
 */
const run = promisify(execFile);
const available = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;

const RECENT = new Date(Date.now() - 3 * 86_400_000).toISOString();
const APPLIED = new Date(Date.now() - 86_400_000).toISOString();

const LARGEST = {
  batchSize: 10_000,
  maxBatchingWindowSeconds: 300,
  parallelizationFactor: 10,
  reservedConcurrency: 5_000,
  retryAttempts: 10_000,
  maxRecordAgeSeconds: 604_800,
  memorySize: 10_240,
  timeoutSeconds: 900,
  delivery: { maxAttempts: 100, baseDelayMs: 60_000, maxDelayMs: 300_000 },
  maxGapAgeSeconds: 31_622_400,
  epoch: 'e'.repeat(63),
  startingPosition: 'AT_TIMESTAMP',
  startingPositionTimestamp: RECENT,
  replayBefore: APPLIED,
  alarms: { iteratorAgeMs: 604_799_999, errors: 1_000_000, throttles: 1_000_000, deadLetters: 1_000_000, oldestParkedAgeSeconds: 31_622_400, parkedTooLong: 1_000, evaluationPeriods: 1_440 },
};

const SMALLEST = {
  batchSize: 1,
  maxBatchingWindowSeconds: 0,
  parallelizationFactor: 1,
  reservedConcurrency: 1,
  retryAttempts: 0,
  maxRecordAgeSeconds: 60,
  memorySize: 128,
  timeoutSeconds: 10,
  delivery: { maxAttempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
  maxGapAgeSeconds: 1,
  startingPosition: 'LATEST',
  alarms: { iteratorAgeMs: 1, errors: 1, throttles: 1, deadLetters: 1, oldestParkedAgeSeconds: 1, parkedTooLong: 1, evaluationPeriods: 1 },
};

const EDGES: readonly (readonly [string, string, Record<string, unknown>])[] = [
  [
    'largest',
    `S${'x'.repeat(127)}`,
    {
      accountsTable: { billingMode: 'PROVISIONED', readCapacity: 40_000, writeCapacity: 40_000 },
      stream: { mode: 'PROVISIONED', shardCount: 500, retentionHours: 8_760 },
      destinations: {
        audit: { ...LARGEST, objectLockDays: 36_500, transitionDays: 3_650 },
        search: { ...LARGEST, dataNodes: 10, masterNodes: 5, instanceType: 'r7gd.16xlarge.search', masterInstanceType: 'r7g.16xlarge.search', index: 'x'.repeat(255) },
        fraud: { ...LARGEST, archiveRetentionDays: 3_650 },
      },
      plugins: { 'ledger-queue': { options: { maxReceiveCount: 1_000, maxMessageBytes: 1_048_576 }, settings: LARGEST } },
    },
  ],
  [
    'smallest',
    'a',
    {
      stream: { mode: 'PROVISIONED', shardCount: 1, retentionHours: 24 },
      destinations: {
        audit: { ...SMALLEST, objectLockDays: 1, transitionDays: 1 },
        search: { ...SMALLEST, dataNodes: 1 },
        fraud: { ...SMALLEST, archiveRetentionDays: 0 },
      },
      plugins: { 'ledger-queue': { options: { maxReceiveCount: 1, maxMessageBytes: 1_024 }, settings: SMALLEST } },
    },
  ],
];

interface Finding {
  readonly Level: string;
  readonly Rule: { readonly Id: string };
  readonly Message: string;
}

describe.skipIf(!available)('cfn-lint at the edges of the configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-edges-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(EDGES)('finds no errors with every setting at its %s accepted value', async (label, stackName, raw) => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack = new OrderedFanoutStack(app, `Edge${label}`, {
      stackName,
      config: parsePipelineConfig(raw, label),
      env: { account: '123456789012', region: 'eu-west-1' },
      pluginRegistry: { 'ledger-queue': ledgerQueueInfra },
    });
    const file = join(dir, `${label}.template.json`);
    writeFileSync(file, JSON.stringify(Template.fromStack(stack).toJSON()));
    let stdout: string;
    try {
      ({ stdout } = await run('cfn-lint', ['--format', 'json', '--regions', 'eu-west-1', '--', file], { maxBuffer: 16 * 1024 * 1024 }));
    } catch (error) {
      stdout = (error as { stdout?: string }).stdout ?? '';
      if (stdout === '') throw error;
    }
    const errors = (JSON.parse(stdout) as Finding[]).filter((finding) => finding.Level === 'Error').map((finding) => `${finding.Rule.Id}: ${finding.Message}`);
    expect(errors).toEqual([]);
  }, 120_000);
});
