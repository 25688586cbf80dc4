import { describe, expect, it, vi } from 'vitest';
import { applyRoles } from '../../infra/search-security/handler';
import { OPERATOR_ROLE, searchSecurityRoles, WRITER_ROLE } from '../../infra/search-security/security-roles';
import { synth } from './synth';

/**
 * Search least privilege: the consumer is no longer the domain's master user. A master role that only the roles custom
 * resource assumes applies two fine-grained access roles limited to the index: the consumer's (write, create the index,
 * read) and the operator's (reconcile and repair).
 */
const { template } = synth();
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any>; DependsOn?: string[] }>;
const byDescription = (type: string, description: string) => {
  const found = Object.entries(resources).filter(([, r]) => r.Type === type && r.Properties.Description === description);
  expect(found, description).toHaveLength(1);
  return found[0]![0];
};
const consumerFn = byDescription('AWS::Lambda::Function', 'ordered-fanout search consumer');
const consumerRole = resources[consumerFn]!.Properties.Role['Fn::GetAtt'][0] as string;
const master = byDescription('AWS::IAM::Role', 'ordered-fanout search domain master user: applies the fine-grained access roles, used by nothing else');
const operator = byDescription('AWS::IAM::Role', 'ordered-fanout search operator: fanout reconcile and replay --repair on the pipeline index');
const domainId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::OpenSearchService::Domain')![0];

describe('the roles inside the domain', () => {
  const roles = searchSecurityRoles('accounts', 'arn:aws:iam::1:role/writer', 'arn:aws:iam::1:role/operator');

  it('map the writer and the operator to one role each, on the pipeline index only', () => {
    expect(roles.map((r) => [r.role, r.backendRoles])).toEqual([
      [WRITER_ROLE, ['arn:aws:iam::1:role/writer']],
      [OPERATOR_ROLE, ['arn:aws:iam::1:role/operator']],
    ]);
    for (const { definition } of roles) {
      expect(definition.index_permissions.flatMap((p) => p.index_patterns)).toEqual(['accounts']);
      // No cluster administration, no security API, no other index: only _bulk at the cluster level.
      expect(definition.cluster_permissions).toEqual(['indices:data/write/bulk']);
      expect(JSON.stringify(definition)).not.toMatch(/\*|all_access|security|cluster_all|manage/);
    }
  });

  it('let the writer create its index, and the operator read and repair it', () => {
    const [writer, op] = roles.map((r) => r.definition.index_permissions[0]!.allowed_actions);
    expect(writer).toEqual(expect.arrayContaining(['crud', 'create_index']));
    expect(op).toEqual(expect.arrayContaining(['crud']));
    expect(op).not.toContain('create_index');
  });

  it('are applied with one idempotent PUT per role and per mapping', async () => {
    const request = vi.fn().mockResolvedValue({ statusCode: 200 });
    await applyRoles({ transport: { request } } as never, roles);
    expect(request.mock.calls.map(([call]) => `${call.method} ${call.path}`)).toEqual([
      `PUT /_plugins/_security/api/roles/${WRITER_ROLE}`,
      `PUT /_plugins/_security/api/rolesmapping/${WRITER_ROLE}`,
      `PUT /_plugins/_security/api/roles/${OPERATOR_ROLE}`,
      `PUT /_plugins/_security/api/rolesmapping/${OPERATOR_ROLE}`,
    ]);
    expect(request.mock.calls[1]![0].body).toEqual({ backend_roles: ['arn:aws:iam::1:role/writer'] });
  });
});

describe('the synthesized domain', () => {
  it('has a master user that is neither the consumer nor the operator, assumable by Lambda only', () => {
    const masterArn = resources[domainId]!.Properties.AdvancedSecurityOptions.MasterUserOptions.MasterUserARN;
    expect(masterArn).toEqual({ 'Fn::GetAtt': [master, 'Arn'] });
    expect(master).not.toBe(consumerRole);
    const trust = resources[master]!.Properties.AssumeRolePolicyDocument.Statement;
    expect(trust).toEqual([expect.objectContaining({ Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' })]);
    // The one function running as the master user is the roles custom resource.
    const asMaster = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Role?.['Fn::GetAtt']?.[0] === master);
    expect(asMaster.map((r) => r.Properties.Description)).toEqual(['ordered-fanout: applies the search domain fine-grained access roles']);
  });

  it('applies the roles after the domain, with the consumer and operator role ARNs and the index', () => {
    const [id, roles] = Object.entries(resources).find(([, r]) => r.Type === 'Custom::OpenSearchSecurityRoles')!;
    expect(roles.Properties).toMatchObject({
      Index: 'accounts',
      WriterRoleArn: { 'Fn::GetAtt': [consumerRole, 'Arn'] },
      OperatorRoleArn: { 'Fn::GetAtt': [operator, 'Arn'] },
    });
    expect(roles.DependsOn ?? [], id).toContain(domainId);
  });

  it("lets IAM through for the consumer, the operator and the master only (the domain's access policy)", () => {
    const policy = Object.values(resources).find((r) => r.Type === 'Custom::OpenSearchAccessPolicy');
    const text = JSON.stringify(policy);
    for (const role of [consumerRole, operator, master]) expect(text).toContain(role);
    const principals = Object.keys(resources).filter((id) => resources[id]!.Type === 'AWS::IAM::Role' && text.includes(`"${id}"`));
    expect(principals.sort()).toEqual([consumerRole, operator, master].sort());
  });

  it('gives the operator the index and _bulk, assumable in the account, and outputs its ARN', () => {
    const trust = resources[operator]!.Properties.AssumeRolePolicyDocument.Statement[0].Principal.AWS;
    expect(JSON.stringify(trust)).toContain(':root');
    const policies = Object.values(resources).filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(operator));
    const text = JSON.stringify(policies);
    expect(text).toContain('/_bulk');
    expect(text).toContain('/accounts/*');
    expect(text).not.toContain('_plugins');
    template.hasOutput('SearchOperatorRoleArn', { Value: { 'Fn::GetAtt': [operator, 'Arn'] } });
  });

  it('creates none of it for an imported domain (its owner maps our role)', () => {
    const imported = synth({ destinations: { search: { domainEndpoint: 'https://search.example.com', domainArn: 'arn:aws:es:eu-west-1:123456789012:domain/accounts' } } }).template;
    expect(Object.keys(imported.findResources('Custom::OpenSearchSecurityRoles'))).toEqual([]);
    expect(Object.keys(imported.findOutputs('SearchOperatorRoleArn'))).toEqual([]);
  });
});
