import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DESTINATION_NAMES, type DestinationName } from '../../infra/config/pipeline-config';
import { synth } from './synth';
import { list, render } from './template-text';
import { mappingIdsOf } from './mappings';

/** Every destination imported: a neighbouring team's bucket, domain and bus (another account). */
const BUCKET_ARN = 'arn:aws:s3:::their-audit-log';
const DOMAIN_ENDPOINT = 'https://search-theirs-abc123.eu-west-1.es.amazonaws.com';
const DOMAIN_ARN = 'arn:aws:es:eu-west-1:210987654321:domain/theirs';
const EVENT_BUS_ARN = 'arn:aws:events:eu-west-1:210987654321:event-bus/their-fraud';
const IMPORTED = {
  destinations: {
    audit: { bucketArn: BUCKET_ARN },
    search: { domainEndpoint: DOMAIN_ENDPOINT, domainArn: DOMAIN_ARN },
    fraud: { eventBusArn: EVENT_BUS_ARN },
  },
};
/** What each destination's role and environment must point at, and no other role may. */
const IMPORTED_RESOURCES: Record<DestinationName, readonly string[]> = {
  audit: [`${BUCKET_ARN}/changes/*`],
  search: [`${DOMAIN_ARN}/_bulk`, `${DOMAIN_ARN}/accounts`, `${DOMAIN_ARN}/accounts/*`],
  fraud: [EVENT_BUS_ARN],
};

interface Grant {
  readonly action: string;
  readonly resource: string;
}

let template: Template;
let resources: Record<string, { Type: string; Properties: any }>;

beforeAll(() => {
  template = synth(IMPORTED).template;
  resources = template.toJSON().Resources;
});

const ids = (type: string, props: unknown = {}): string[] => Object.keys(template.findResources(type, props));
const getAtt = (value: unknown): string => (value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];


function consumerOf(destination: DestinationName) {
  const [functionId, ...more] = ids('AWS::Lambda::Function', { Properties: { Description: `ordered-fanout ${destination} consumer` } });
  expect(more).toEqual([]);
  const fn = resources[functionId!]!.Properties;
  const [mappingId] = mappingIdsOf(template, functionId!);
  const mapping = resources[mappingId!]!.Properties;
  const role = getAtt(fn.Role);
  const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: role }]) } }));
  const grants: Grant[] = policies
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
    .flatMap((s: { Action: string | string[]; Resource: unknown }) =>
      list(s.Action).flatMap((action) => list(s.Resource).map((resource) => ({ action, resource: render(resource) }))),
    );
  return { env: fn.Environment.Variables as Record<string, unknown>, mapping, grants, queue: fn.Environment.Variables.DEAD_LETTER_QUEUE_URL.Ref };
}

describe('imported destinations: nothing of theirs is created', () => {
  it('creates no audit bucket: only the access-log bucket and the three failed-batch buckets', () => {
    const failedBatches = DESTINATION_NAMES.map((name) => getAtt(consumerOf(name).mapping.DestinationConfig.OnFailure.Destination));
    const logged = ids('AWS::S3::Bucket').map((id) => resources[id]!.Properties.LoggingConfiguration?.DestinationBucketName?.Ref);
    const accessLogs = [...new Set(logged.filter((id): id is string => id !== undefined))];
    expect(accessLogs).toHaveLength(1);
    expect(ids('AWS::S3::Bucket').sort()).toEqual([...accessLogs, ...failedBatches].sort());
    template.resourceCountIs('AWS::S3::Bucket', 4);
    expect(ids('AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } })).toEqual([]);
  });

  it('creates no OpenSearch domain, nor its access policy, log groups or key', () => {
    template.resourceCountIs('AWS::OpenSearchService::Domain', 0);
    template.resourceCountIs('Custom::OpenSearchAccessPolicy', 0);
    template.resourceCountIs('Custom::CloudwatchLogResourcePolicy', 0);
    // Only the three consumers' and the two sweepers' log groups remain.
    expect(ids('AWS::Logs::LogGroup')).toHaveLength(5);
  });

  it('creates no event bus and no archive', () => {
    template.resourceCountIs('AWS::Events::EventBus', 0);
    template.resourceCountIs('AWS::Events::Archive', 0);
  });

  it('creates no key for a destination: every key encrypts the stream, a table, the topic or a dead-letter queue', () => {
    const users = [
      ...ids('AWS::Kinesis::Stream').map((id) => resources[id]!.Properties.StreamEncryption.KeyId),
      ...ids('AWS::DynamoDB::Table').map((id) => resources[id]!.Properties.SSESpecification.KMSMasterKeyId),
      ...ids('AWS::SNS::Topic').map((id) => resources[id]!.Properties.KmsMasterKeyId),
      ...ids('AWS::SQS::Queue').map((id) => resources[id]!.Properties.KmsMasterKeyId),
    ].map(getAtt);
    expect(ids('AWS::KMS::Key').sort()).toEqual([...new Set(users)].sort());
  });
});

describe('imported destinations: the functions point at them', () => {
  it('gives each function the imported bucket name, endpoint and bus ARN', () => {
    expect(consumerOf('audit').env).toMatchObject({ AUDIT_BUCKET_NAME: 'their-audit-log', AUDIT_KEY_PREFIX: 'changes/' });
    expect(consumerOf('search').env).toMatchObject({ SEARCH_ENDPOINT: DOMAIN_ENDPOINT, SEARCH_INDEX: 'accounts' });
    expect(consumerOf('fraud').env).toMatchObject({ FRAUD_EVENT_BUS_NAME: EVENT_BUS_ARN });
  });

  it('reports the imported resources in the outputs', () => {
    template.hasOutput('AuditBucketName', { Value: 'their-audit-log' });
    template.hasOutput('SearchEndpoint', { Value: DOMAIN_ENDPOINT });
    template.hasOutput('FraudEventBusArn', { Value: EVENT_BUS_ARN });
  });

  it('lets audit put and read back objects under changes/ of the imported bucket only', () => {
    const s3 = consumerOf('audit').grants.filter((g) => g.resource.startsWith('arn:aws:s3:::their-audit-log'));
    expect(s3.sort((a, b) => a.action.localeCompare(b.action))).toEqual([
      { action: 's3:GetObject', resource: `${BUCKET_ARN}/changes/*` },
      { action: 's3:PutObject', resource: `${BUCKET_ARN}/changes/*` },
    ]);
  });

  it("lets search use the imported domain's _bulk and index only", () => {
    const es = consumerOf('search').grants.filter((g) => g.action.startsWith('es:'));
    expect(es.length).toBeGreaterThan(0);
    expect(es.every((g) => /^es:ESHttp(Head|Get|Put|Post)$/.test(g.action))).toBe(true);
    expect([...new Set(es.map((g) => g.resource))].sort()).toEqual([...IMPORTED_RESOURCES.search].sort());
  });

  it('lets fraud put events on (and describe) the imported bus only', () => {
    const events = consumerOf('fraud').grants.filter((g) => g.action.startsWith('events:'));
    expect(events.sort((a, b) => a.action.localeCompare(b.action))).toEqual([
      { action: 'events:DescribeEventBus', resource: EVENT_BUS_ARN },
      { action: 'events:PutEvents', resource: EVENT_BUS_ARN },
    ]);
  });

  it.each(DESTINATION_NAMES)("does not let %s touch the other destinations' imported resources", (name) => {
    const { grants } = consumerOf(name);
    const theirs = DESTINATION_NAMES.filter((other) => other !== name).flatMap((other) => IMPORTED_RESOURCES[other]);
    expect(grants.filter((g) => theirs.includes(g.resource))).toEqual([]);
    const onImported = grants.filter((g) => [BUCKET_ARN, DOMAIN_ARN, EVENT_BUS_ARN].some((arn) => g.resource.startsWith(arn)));
    expect(onImported.length).toBeGreaterThan(0);
    expect(onImported.filter((g) => !IMPORTED_RESOURCES[name].includes(g.resource))).toEqual([]);
  });

  it('keeps the rest of each consumer in place: its own EFO consumer, queue and alarms', () => {
    template.resourceCountIs('AWS::Kinesis::StreamConsumer', 3);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    // 26 per destination and sweeper, 3 for replication; none for an imported domain (its owner watches it).
    template.resourceCountIs('AWS::CloudWatch::Alarm', 29);
    expect(new Set(DESTINATION_NAMES.map((name) => consumerOf(name).queue)).size).toBe(3);
  });
});
