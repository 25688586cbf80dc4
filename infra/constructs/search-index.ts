import { CustomResource, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import { Construct } from 'constructs';
import { hasInstanceStorage, searchZones } from '../config/load-config';
import type { SearchSettings } from '../config/pipeline-config';
import { acknowledgeFinding as ack, arnToken, writerPolicy } from '../nag-suppressions';
import type { PluginAlarm, PluginTarget } from '../plugins/infra-plugin';
import { encryptionKey } from './encryption-key';
import { pipelineFunction } from './function-code';
import { searchDomainAlarms } from './search-domain-alarms';

/** The HTTP actions the adapter uses: HEAD/PUT of the index (create if missing) and POST `_bulk`. */
const SEARCH_ACTIONS = ['es:ESHttpHead', 'es:ESHttpGet', 'es:ESHttpPut', 'es:ESHttpPost'];

export interface SearchIndexProps {
  readonly settings: SearchSettings;
  /**
   * The search consumer's role: mapped, in a created domain's fine-grained access control, to its index only.
   * @default none yet: `bindWriter` names it (the consumer calls it as it is created)
   */
  readonly writer?: iam.IRole;
}

/**
 * The search destination. Created: an OpenSearch Service domain with encryption at rest (customer-managed key),
 * node-to-node TLS, HTTPS only (TLS 1.2), fine-grained access control (a master role nothing but the roles custom
 * resource assumes; the consumer mapped to a role limited to its index; an operator role for reconcile and repair), zone
 * awareness across as many AZs as the node count allows (`searchZones`), and its logs in CloudWatch. Imported: a neighbouring
 * team's domain by endpoint and ARN; nothing is created, and its owner maps our role in fine-grained access control.
 */
export class SearchIndex extends Construct implements PluginTarget {
  readonly domainArn: string;
  readonly domainEndpoint: string;
  readonly index: string;
  readonly owned: boolean;
  readonly environment: Readonly<Record<string, string>>;
  readonly domain?: opensearch.Domain;
  /**
   * A created domain's operator role: `fanout reconcile` and `fanout replay --repair` run with it (assumable by the
   * account's principals that are allowed `sts:AssumeRole` on it); read and write on the index, nothing else.
   */
  readonly operatorRole?: iam.Role;
  /** A created domain's custom resource function that applies the fine-grained access roles. */
  securityRolesFunction?: lambda.Function;
  private readonly master?: iam.Role;
  private writer?: iam.IRole;

  constructor(scope: Construct, id: string, props: SearchIndexProps) {
    super(scope, id);
    const { settings } = props;
    this.index = settings.index;
    this.owned = settings.domainArn === undefined;
    if (settings.domainArn !== undefined && settings.domainEndpoint !== undefined) {
      this.domainArn = settings.domainArn;
      this.domainEndpoint = settings.domainEndpoint;
    } else {
      // The master user changes the security configuration and nothing else: only the roles custom resource assumes it.
      const master = new iam.Role(this, 'MasterRole', {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: 'ordered-fanout search domain master user: applies the fine-grained access roles, used by nothing else',
      });
      this.master = master;
      this.operatorRole = new iam.Role(this, 'OperatorRole', {
        assumedBy: new iam.AccountRootPrincipal(),
        description: 'ordered-fanout search operator: fanout reconcile and replay --repair on the pipeline index',
      });
      // parsePipelineConfig refuses node counts no zone layout takes; a construct user gets the same message here.
      const zones = searchZones(settings.dataNodes);
      if (zones === undefined) throw new Error(`search dataNodes must be 1, or a multiple of 2 or 3, got ${settings.dataNodes}`);
      this.domain = new opensearch.Domain(this, 'Domain', {
        version: opensearch.EngineVersion.OPENSEARCH_2_17,
        capacity: {
          dataNodes: settings.dataNodes,
          dataNodeInstanceType: settings.instanceType,
          ...(settings.masterNodes > 0 ? { masterNodes: settings.masterNodes, masterNodeInstanceType: settings.masterInstanceType } : {}),
          multiAzWithStandbyEnabled: false,
        },
        ebs: hasInstanceStorage(settings.instanceType)
          ? { enabled: false }
          : { volumeSize: 20, volumeType: ec2.EbsDeviceVolumeType.GP3 },
        zoneAwareness: zones > 1 ? { enabled: true, availabilityZoneCount: zones } : { enabled: false },
        encryptionAtRest: { enabled: true, kmsKey: encryptionKey(this, 'Key', 'Search domain') },
        nodeToNodeEncryption: true,
        enforceHttps: true,
        tlsSecurityPolicy: opensearch.TLSSecurityPolicy.TLS_1_2,
        fineGrainedAccessControl: { masterUserArn: master.roleArn },
        logging: { slowSearchLogEnabled: true, slowIndexLogEnabled: true, appLogEnabled: true, auditLogEnabled: true },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      this.domainArn = this.domain.domainArn;
      this.domainEndpoint = `https://${this.domain.domainEndpoint}`;
      this.grantDeliver(this.operatorRole);
    }
    // An imported domain may live in another region: SigV4 must sign for the domain's region, not the function's.
    const domainRegion = settings.domainArn?.split(':')[3];
    this.environment = {
      SEARCH_ENDPOINT: this.domainEndpoint,
      SEARCH_INDEX: this.index,
      SEARCH_AUTH: 'sigv4',
      ...(domainRegion ? { SEARCH_REGION: domainRegion } : {}),
    };
    if (props.writer) this.bindWriter(props.writer);
  }

  /**
   * Names the role that writes the index. A created domain lets it in (with the operator and master roles) and maps
   * it to the writer role of fine-grained access control; an imported domain's owner does that on their side. The
   * writer is known only once the consumer exists, hence a method rather than a prop.
   */
  bindWriter(writer: iam.IRole): void {
    if (!this.domain || !this.master || !this.operatorRole) return;
    if (this.writer) throw new Error(`the search domain already has a writer (${this.writer.node.path}); one consumer writes it`);
    this.writer = writer;
    // Added after creation (CDK applies it with a custom resource) so it can name this domain's own ARN.
    // IAM lets these three in; fine-grained access control then decides what each may do inside.
    this.domain.addAccessPolicies(
      new iam.PolicyStatement({
        principals: [writer.roleArn, this.operatorRole.roleArn, this.master.roleArn].map((arn) => new iam.ArnPrincipal(arn)),
        actions: SEARCH_ACTIONS,
        resources: [`${this.domain.domainArn}/*`],
      }),
    );
    this.applySecurityRoles(this.master, writer, this.operatorRole, this.index);
  }

  /** A custom resource, running as the master user, that maps the writer and the operator to their roles. */
  private applySecurityRoles(master: iam.Role, writer: iam.IRole, operator: iam.IRole, index: string): void {
    const domain = this.domain as opensearch.Domain;
    const logGroup = new logs.LogGroup(this, 'SecurityRolesLogs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.DESTROY });
    logGroup.grantWrite(master);
    const fn = pipelineFunction(this, 'SecurityRolesFunction', {
      source: 'infra/search-security/handler.ts',
      description: 'ordered-fanout: applies the search domain fine-grained access roles',
      timeout: Duration.minutes(2),
      role: master,
      logGroup,
    });
    this.securityRolesFunction = fn;
    const roles = new CustomResource(this, 'SecurityRoles', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::OpenSearchSecurityRoles',
      properties: { Endpoint: this.domainEndpoint, Index: index, WriterRoleArn: writer.roleArn, OperatorRoleArn: operator.roleArn },
    });
    // After the domain and its access policy: before that, the master user cannot reach the security API.
    roles.node.addDependency(domain);
  }

  /** The adapter's HTTP actions on `_bulk` and this index only. */
  grantDeliver(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: SEARCH_ACTIONS,
        resources: [`${this.domainArn}/_bulk`, `${this.domainArn}/${this.index}`, `${this.domainArn}/${this.index}/*`],
      }),
    );
  }

  /** A created domain's health (`searchDomainAlarms`); an imported domain is its owner's to watch. */
  alarms(alarm: PluginAlarm): void {
    if (this.domain) searchDomainAlarms(this.domain, alarm);
  }

  acknowledgeNagFindings(writer: iam.IRole): void {
    const stack = Stack.of(this);
    const documents = `AwsSolutions-IAM5[Resource::${arnToken(stack, this.domain ?? this.domainArn)}/${this.index}/*]`;
    ack(writerPolicy(writer), documents, 'Document paths of the one index the consumer writes.');
    if (this.operatorRole) ack(writerPolicy(this.operatorRole), documents, 'Document paths of the one index the operator reconciles and repairs.');
    if (this.securityRolesFunction) {
      ack(this.securityRolesFunction, 'AwsSolutions-L1', 'Pinned to nodejs22.x like every function of the stack; raised deliberately with the code.');
    }
    if (!this.domain) return;
    ack(this.domain, 'AwsSolutions-OS1', 'Reached over HTTPS with SigV4 only; the access policy allows the consumer, operator and master roles alone and fine-grained access control limits each. Lambda stays out of a VPC (no NAT needed).');
    ack(this.domain, 'AwsSolutions-OS3', 'Access is by IAM identity (SigV4), not by IP address: Lambda has no fixed IP to allowlist.');
    ack(this.domain, 'AwsSolutions-OS4', 'A small domain owned by the pipeline; for production scale import the search team\'s domain, which has dedicated masters.');
    // The log-group resource policy custom resource the Domain construct creates for its CloudWatch logs.
    const logPolicy = this.domain.node.children.find((child) => child.node.id.startsWith('ESLogGroupPolicy'));
    const logPolicyPolicy = logPolicy?.node.tryFindChild('CustomResourcePolicy');
    if (logPolicyPolicy) {
      ack(logPolicyPolicy, 'AwsSolutions-IAM5[Resource::*]', 'CloudWatch Logs resource policies are account-wide: logs:PutResourcePolicy has no resource scope.');
    }
    const provider = stack.node.tryFindChild('AWS679f53fac002430cb0da5b7982bd2287');
    if (provider) {
      ack(provider, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'CDK\'s AwsCustomResource provider, used only by the OpenSearch Domain construct for its log-group policy.');
      ack(provider, 'AwsSolutions-IAM5[Action::kms:Describe*]', 'CDK\'s AwsCustomResource provider for the domain\'s log-group policy.');
      ack(provider, 'AwsSolutions-IAM5[Action::kms:List*]', 'CDK\'s AwsCustomResource provider for the domain\'s log-group policy.');
    }
  }
}
