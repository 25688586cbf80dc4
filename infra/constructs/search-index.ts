import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import { Construct } from 'constructs';
import { hasInstanceStorage, searchZones } from '../config/load-config';
import type { SearchSettings } from '../config/pipeline-config';
import type { DestinationTarget } from './destination-target';
import { encryptionKey } from './encryption-key';

/** The HTTP actions the adapter uses: HEAD/PUT of the index (create if missing) and POST `_bulk`. */
const SEARCH_ACTIONS = ['es:ESHttpHead', 'es:ESHttpGet', 'es:ESHttpPut', 'es:ESHttpPost'];

export interface SearchIndexProps {
  readonly settings: SearchSettings;
  /** The search consumer's role: the only writer, and the master user of a created domain's fine-grained access. */
  readonly writer: iam.IRole;
}

/**
 * The search destination. Created: an OpenSearch Service domain with encryption at rest (customer-managed key),
 * node-to-node TLS, HTTPS only (TLS 1.2), fine-grained access control with the consumer's role as master user, zone
 * awareness across as many AZs as the node count allows (`searchZones`), and its logs in CloudWatch. Imported: a neighbouring
 * team's domain by endpoint and ARN; nothing is created, and its owner maps our role in fine-grained access control.
 */
export class SearchIndex extends Construct implements DestinationTarget {
  readonly domainArn: string;
  readonly domainEndpoint: string;
  readonly index: string;
  readonly owned: boolean;
  readonly environment: Readonly<Record<string, string>>;
  readonly domain?: opensearch.Domain;

  constructor(scope: Construct, id: string, props: SearchIndexProps) {
    super(scope, id);
    const { settings } = props;
    this.index = settings.index;
    this.owned = settings.domainArn === undefined;
    if (settings.domainArn !== undefined && settings.domainEndpoint !== undefined) {
      this.domainArn = settings.domainArn;
      this.domainEndpoint = settings.domainEndpoint;
    } else {
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
        fineGrainedAccessControl: { masterUserArn: props.writer.roleArn },
        logging: { slowSearchLogEnabled: true, slowIndexLogEnabled: true, appLogEnabled: true, auditLogEnabled: true },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // Added after creation (CDK applies it with a custom resource) so it can name this domain's own ARN.
      this.domain.addAccessPolicies(
        new iam.PolicyStatement({
          principals: [new iam.ArnPrincipal(props.writer.roleArn)],
          actions: SEARCH_ACTIONS,
          resources: [`${this.domain.domainArn}/*`],
        }),
      );
      this.domainArn = this.domain.domainArn;
      this.domainEndpoint = `https://${this.domain.domainEndpoint}`;
    }
    this.environment = { SEARCH_ENDPOINT: this.domainEndpoint, SEARCH_INDEX: this.index, SEARCH_AUTH: 'sigv4' };
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
}
