import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../infra/config/load-config';
import { OrderedFanoutStack } from '../../infra/ordered-fanout-stack';
import { cdkJsonContext } from './cdk-context';

/**
 * AWS's CloudFormation linter over the synthesized templates: what `cdk synth` accepts, CloudFormation may still
 * refuse (a property value, a cross-property rule, a resource type's limits). Default and maximal configurations,
 * each as two stacks side by side. `.ci/run` requires cfn-lint; elsewhere this file is skipped with a notice.
 */
const run = promisify(execFile);
const available = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;
if (!available) console.warn('cfn-lint is not installed: skipping the CloudFormation lint of the templates (CI installs it)');

const RECENT = new Date(Date.now() - 3 * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Every option on: provisioned capacity, emails, a sized domain with masters, limits set, a replay epoch. */
const MAXIMAL_CREATED = {
  alarmEmails: ['oncall@example.com', 'team@example.com'],
  accountsTable: { billingMode: 'PROVISIONED', readCapacity: 50, writeCapacity: 50 },
  stream: { mode: 'PROVISIONED', shardCount: 4, retentionHours: 8_760 },
  destinations: {
    audit: { reservedConcurrency: 20, maxRecordAgeSeconds: 604_800, parallelizationFactor: 4, objectLockDays: 3_650, transitionDays: 30 },
    search: {
      dataNodes: 6,
      masterNodes: 3,
      instanceType: 'r6g.large.search',
      batchSize: 500,
      maxBatchingWindowSeconds: 5,
      epoch: 'replay-1',
      startingPosition: 'AT_TIMESTAMP',
      startingPositionTimestamp: RECENT,
      replayBefore: RECENT,
    },
    fraud: { enabled: false, retryAttempts: 3, maxGapAgeSeconds: 60, archiveRetentionDays: 0, timeoutSeconds: 900, memorySize: 2_048 },
  },
};

/** Every destination imported, and a TRIM_HORIZON replay epoch on fraud. */
const MAXIMAL_IMPORTED = {
  alarmEmails: ['oncall@example.com'],
  destinations: {
    audit: { bucketArn: 'arn:aws:s3:::neighbour-audit-log' },
    search: { domainEndpoint: 'https://search-accounts.eu-west-1.es.amazonaws.com', domainArn: 'arn:aws:es:eu-west-1:210987654321:domain/accounts' },
    fraud: { eventBusArn: 'arn:aws:events:eu-west-1:210987654321:event-bus/fraud', epoch: 'replay-2', startingPosition: 'TRIM_HORIZON' },
  },
};

interface Finding {
  readonly Level: string;
  readonly Rule: { readonly Id: string };
  readonly Message: string;
}

describe.skipIf(!available)('cfn-lint', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['default', {}],
    ['maximal, destinations created', MAXIMAL_CREATED],
    ['maximal, destinations imported', MAXIMAL_IMPORTED],
  ])('finds no errors in the %s configuration, two stacks side by side', async (label, raw) => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const config = parsePipelineConfig(raw, label);
    // Both stacks exist before the first is synthesized: the app synthesizes once.
    const stacks = ['Dev', 'Staging'].map(
      (name) => new OrderedFanoutStack(app, `OrderedFanout${name}`, { config, env: { account: '123456789012', region: 'eu-west-1' } }),
    );
    const files = stacks.map((stack) => {
      const file = join(dir, `${label.replace(/\W+/g, '-')}-${stack.stackName}.template.json`);
      writeFileSync(file, JSON.stringify(Template.fromStack(stack).toJSON()));
      return file;
    });
    let stdout: string;
    try {
      ({ stdout } = await run('cfn-lint', ['--format', 'json', '--regions', 'eu-west-1', '--', ...files], { maxBuffer: 16 * 1024 * 1024 }));
    } catch (error) {
      // Exit codes are flags (2 errors, 4 warnings, 8 informational): the findings decide, not the code.
      stdout = (error as { stdout?: string }).stdout ?? '';
      if (stdout === '') throw error;
    }
    const findings = JSON.parse(stdout) as Finding[];
    const errors = findings.filter((finding) => finding.Level === 'Error').map((finding) => `${finding.Rule.Id}: ${finding.Message}`);
    expect(errors).toEqual([]);
  }, 120_000);
});
