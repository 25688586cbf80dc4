import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DESTINATION_NAMES, type DestinationName } from '../../infra/config/pipeline-config';
import { synth } from './synth';
import { list, render } from './template-text';
import { mappingIdsOf } from './mappings';

/**
 * Each destination's function role, read from the AWS::IAM::Policy attached to it. Statements are flattened into
 * (action, resource) grants; intrinsics are rendered as `${LogicalId.Attribute}` / `${LogicalId}` so resources compare
 * as strings.
 */

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, unknown>;
}
interface Grant {
  readonly action: string;
  readonly resource: string;
  readonly statement: Statement;
}

let template: Template;
let resources: Record<string, { Type: string; Properties: any }>;

beforeAll(() => {
  template = synth().template;
  resources = template.toJSON().Resources;
});



/** Logical ids referenced (Ref or Fn::GetAtt) anywhere in `value`. */
function refs(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((item) => refs(item, out));
  else if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, any>;
    if (typeof v.Ref === 'string' && !v.Ref.startsWith('AWS::')) out.add(v.Ref);
    if (Array.isArray(v['Fn::GetAtt'])) out.add(v['Fn::GetAtt'][0]);
    Object.values(v).forEach((child) => refs(child, out));
  }
  return out;
}

const only = (type: string, props: unknown = {}): string => {
  const found = Object.keys(template.findResources(type, props));
  expect(found, `${type} matching ${JSON.stringify(props)}`).toHaveLength(1);
  return found[0]!;
};
const getAtt = (value: unknown): string => (value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

/** A destination's own resources, found from its function and mapping, and its role's statements. */
function partsOf(destination: DestinationName) {
  const functionId = only('AWS::Lambda::Function', { Properties: { Description: `ordered-fanout ${destination} consumer` } });
  const fn = resources[functionId]!.Properties;
  const [mappingId, ...others] = mappingIdsOf(template, functionId);
  expect(others).toEqual([]);
  const mapping = resources[mappingId!]!.Properties;
  const role = getAtt(fn.Role);
  const queue: string = fn.Environment.Variables.DEAD_LETTER_QUEUE_URL.Ref;
  const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: role }]) } }));
  const statements: Statement[] = policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement);
  const grants: Grant[] = statements.flatMap((statement) =>
    list(statement.Action).flatMap((action) => list(statement.Resource).map((resource) => ({ action, resource: render(resource), statement }))),
  );
  return {
    role,
    policies,
    statements,
    grants,
    consumer: getAtt(mapping.EventSourceArn),
    queue,
    queueKey: getAtt(resources[queue]!.Properties.KmsMasterKeyId),
    failedBatches: getAtt(mapping.DestinationConfig.OnFailure.Destination),
    /** Logical ids of every resource the role's policies mention. */
    referenced: refs(statements),
  };
}

/** The resources only one destination may touch: its destination and that destination's key. */
function destinationResources(destination: DestinationName): string[] {
  switch (destination) {
    case 'audit': {
      const bucket = only('AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } });
      const key = getAtt(resources[bucket]!.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID);
      return [bucket, key];
    }
    case 'search': {
      const domain = only('AWS::OpenSearchService::Domain');
      return [domain, resources[domain]!.Properties.EncryptionAtRestOptions.KmsKeyId.Ref];
    }
    case 'fraud':
      return [only('AWS::Events::EventBus')];
  }
}

const actionsOn = (grants: readonly Grant[], resource: string) => grants.filter((g) => g.resource === resource).map((g) => g.action);
const resourcesOf = (grants: readonly Grant[], action: string) => grants.filter((g) => g.action === action).map((g) => g.resource);
const ofType = (ids: Set<string>, type: string) => [...ids].filter((id) => resources[id]?.Type === type).sort();

describe.each(DESTINATION_NAMES)('%s consumer role', (name) => {
  const others = DESTINATION_NAMES.filter((other) => other !== name);

  it('has one policy, and only Allow statements', () => {
    const { policies, statements } = partsOf(name);
    expect(policies).toHaveLength(1);
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
  });

  it('subscribes to its own stream consumer only', () => {
    const { grants, consumer, referenced } = partsOf(name);
    const stream = only('AWS::Kinesis::Stream');
    for (const action of ['kinesis:SubscribeToShard', 'kinesis:DescribeStreamConsumer']) {
      expect(resourcesOf(grants, action)).toContain(`\${${consumer}.ConsumerARN}`);
      // The stream ARN comes from CDK's KinesisConsumerEventSource (it also grants the stream itself); it is no consumer.
      expect(resourcesOf(grants, action).every((r) => r === `\${${consumer}.ConsumerARN}` || r === `\${${stream}.Arn}`)).toBe(true);
    }
    expect(ofType(referenced, 'AWS::Kinesis::StreamConsumer')).toEqual([consumer]);
    for (const other of others) expect(referenced).not.toContain(partsOf(other).consumer);
  });

  it('uses ledger keys of its own destination only (dynamodb:LeadingKeys)', () => {
    const { statements, referenced } = partsOf(name);
    const ledger = only('AWS::DynamoDB::Table', { Properties: { KeySchema: Match.arrayWith([{ AttributeName: 'pk', KeyType: 'HASH' }]) } });
    const accounts = only('AWS::DynamoDB::Table', { Properties: { KeySchema: [{ AttributeName: 'account_id', KeyType: 'HASH' }] } });
    const dynamo = statements.filter((s) => list(s.Action).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.length).toBeGreaterThan(0);
    for (const statement of dynamo) {
      expect(statement.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${name}#*`] } });
      expect(list(statement.Resource).map(render).sort()).toEqual([`\${${ledger}.Arn}`, `\${${ledger}.Arn}/index/gaps`]);
      expect(list(statement.Action)).not.toEqual(expect.arrayContaining([expect.stringMatching(/\*|Scan|UpdateItem|BatchWriteItem|Table$/)]));
    }
    expect(referenced).not.toContain(accounts);
  });

  it('may send to its own dead-letter queue and to no other', () => {
    const { grants, queue, referenced } = partsOf(name);
    expect(actionsOn(grants, `\${${queue}.Arn}`)).toContain('sqs:SendMessage');
    expect(ofType(referenced, 'AWS::SQS::Queue')).toEqual([queue]);
    expect(grants.filter((g) => g.action.startsWith('sqs:')).every((g) => g.resource === `\${${queue}.Arn}`)).toBe(true);
  });

  it("mentions nothing of the other destinations: consumers, queues, buckets, keys, destinations", () => {
    const { referenced } = partsOf(name);
    for (const other of others) {
      const theirs = partsOf(other);
      for (const id of [theirs.consumer, theirs.queue, theirs.queueKey, theirs.failedBatches, theirs.role, ...destinationResources(other)]) {
        expect(referenced, `${name} role mentions ${other}'s ${id}`).not.toContain(id);
      }
    }
  });

  it("has none of the other destinations' actions", () => {
    const actions = partsOf(name).grants.map((g) => g.action);
    if (name !== 'search') expect(actions.filter((a) => a.startsWith('es:'))).toEqual([]);
    if (name !== 'fraud') expect(actions.filter((a) => a.startsWith('events:'))).toEqual([]);
  });

  it('touches only its own buckets and keys', () => {
    const { referenced, failedBatches, queueKey } = partsOf(name);
    const own = name === 'audit' ? destinationResources('audit') : [];
    expect(ofType(referenced, 'AWS::S3::Bucket')).toEqual([failedBatches, ...own.slice(0, 1)].sort());
    const shared = [getAtt(resources[only('AWS::Kinesis::Stream')]!.Properties.StreamEncryption.KeyId)];
    const ledger = only('AWS::DynamoDB::Table', { Properties: { KeySchema: Match.arrayWith([{ AttributeName: 'pk', KeyType: 'HASH' }]) } });
    shared.push(getAtt(resources[ledger]!.Properties.SSESpecification.KMSMasterKeyId));
    expect(ofType(referenced, 'AWS::KMS::Key')).toEqual([...shared, queueKey, ...own.slice(1)].sort());
  });

  it('has no `*` resource at all (no X-Ray: the code is not instrumented, so tracing is off)', () => {
    const wildcard = partsOf(name).grants.filter((g) => g.resource === '*' || /^arn:[^:]*:[^:]*:[^:]*:[^:]*:\*$/.test(g.resource));
    expect(wildcard.map((g) => g.action)).toEqual([]);
  });
});

describe('destination grants', () => {
  it('audit may put and read back objects under changes/ of the audit bucket, and not list or delete them', () => {
    const { grants } = partsOf('audit');
    const [bucket] = destinationResources('audit');
    const onBucket = grants.filter((g) => g.resource.startsWith(`\${${bucket}.Arn}`));
    expect(onBucket.map((g) => g.resource).every((r) => r === `\${${bucket}.Arn}/changes/*`)).toBe(true);
    expect(onBucket.map((g) => g.action)).toContain('s3:PutObject');
    expect(onBucket.filter((g) => /^s3:(GetObject(Version|Acl|Tagging|Retention|LegalHold)|List|Delete|\*)/.test(g.action))).toEqual([]);
  });

  it('audit may do nothing but s3:PutObject and s3:GetObject on the audit bucket: no legal hold, retention or tagging', () => {
    const [bucket] = destinationResources('audit');
    expect(actionsOn(partsOf('audit').grants, `\${${bucket}.Arn}/changes/*`).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
  });

  it.each(DESTINATION_NAMES)('%s may only write failed batches to its own on-failure bucket: no read, no delete', (name) => {
    const { grants, failedBatches } = partsOf(name);
    const onBucket = grants.filter((g) => g.resource.startsWith(`\${${failedBatches}.Arn}`));
    expect(onBucket.map((g) => [g.action, g.resource]).sort()).toEqual(
      [['s3:ListBucket', `\${${failedBatches}.Arn}`], ['s3:PutObject', `\${${failedBatches}.Arn}/*`]].sort(),
    );
  });

  it("search has es:ESHttp* on the domain's _bulk and index only", () => {
    const [domain] = destinationResources('search');
    const es = partsOf('search').grants.filter((g) => g.action.startsWith('es:'));
    expect(es.length).toBeGreaterThan(0);
    expect(es.every((g) => /^es:ESHttp(Head|Get|Put|Post)$/.test(g.action))).toBe(true);
    expect([...new Set(es.map((g) => g.resource))].sort()).toEqual(
      [`\${${domain}.Arn}/_bulk`, `\${${domain}.Arn}/accounts`, `\${${domain}.Arn}/accounts/*`].sort(),
    );
  });

  it('fraud has events:PutEvents (and DescribeEventBus, to find a missing bus) on its bus only', () => {
    const [bus] = destinationResources('fraud');
    const events = partsOf('fraud').grants.filter((g) => g.action.startsWith('events:'));
    expect(events.map((g) => [g.action, g.resource]).sort()).toEqual([
      ['events:DescribeEventBus', `\${${bus}.Arn}`],
      ['events:PutEvents', `\${${bus}.Arn}`],
    ]);
  });

  it('the search domain is not reachable by the audit or fraud roles', () => {
    const domain = only('AWS::OpenSearchService::Domain');
    for (const other of ['audit', 'fraud'] as const) expect(partsOf(other).referenced).not.toContain(domain);
  });
});
