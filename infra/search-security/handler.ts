import { request as httpsRequest } from 'node:https';
import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { searchSecurityRoles, type SecurityRoleMapping } from './security-roles';

/**
 * A CloudFormation custom resource that applies the search domain's roles (`security-roles.ts`) through the security
 * plugin's REST API. It runs as the domain's master user, the only identity that may change roles; the consumer and
 * the operator only ever get their mapped roles. It answers CloudFormation itself (no provider framework).
 */
interface Properties {
  readonly Endpoint: string;
  readonly Index: string;
  readonly WriterRoleArn: string;
  readonly OperatorRoleArn: string;
}

export async function handler(event: CloudFormationCustomResourceEvent): Promise<void> {
  const physicalId = `${event.LogicalResourceId}-security-roles`;
  try {
    if (event.RequestType !== 'Delete') {
      const props = event.ResourceProperties as unknown as Properties;
      await applyRoles(client(props.Endpoint), searchSecurityRoles(props.Index, props.WriterRoleArn, props.OperatorRoleArn));
    }
    // On delete the roles stay: the domain is retained with the stack's data, and removing them would lock its
    // consumer out of a domain that outlives the stack.
    await respond(event, 'SUCCESS', physicalId);
  } catch (error) {
    await respond(event, 'FAILED', physicalId, error instanceof Error ? error.message : String(error));
  }
}

function client(endpoint: string): Client {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  return new Client({ ...AwsSigv4Signer({ region, service: 'es', getCredentials: defaultProvider() }), node: endpoint, requestTimeout: 20_000 });
}

/** PUTs each role and its mapping; both calls are idempotent (they replace the named document). */
export async function applyRoles(search: Pick<Client, 'transport'>, roles: readonly SecurityRoleMapping[]): Promise<void> {
  for (const { role, definition, backendRoles } of roles) {
    const name = encodeURIComponent(role);
    await search.transport.request({ method: 'PUT', path: `/_plugins/_security/api/roles/${name}`, body: definition });
    await search.transport.request({ method: 'PUT', path: `/_plugins/_security/api/rolesmapping/${name}`, body: { backend_roles: backendRoles } });
  }
}

function respond(event: CloudFormationCustomResourceEvent, status: 'SUCCESS' | 'FAILED', physicalId: string, reason?: string): Promise<void> {
  const body = JSON.stringify({
    Status: status,
    Reason: (reason ?? 'see the function log').slice(0, 1_000),
    PhysicalResourceId: event.RequestType === 'Create' ? physicalId : event.PhysicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: {},
  });
  const url = new URL(event.ResponseURL);
  return new Promise((resolve, reject) => {
    const put = httpsRequest(
      { hostname: url.hostname, path: `${url.pathname}${url.search}`, method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) } },
      (answer) => {
        answer.resume();
        answer.on('end', () => resolve());
      },
    );
    put.on('error', reject);
    put.end(body);
  });
}
