/**
 * The search domain's fine-grained access control, as the OpenSearch security plugin takes it: two roles limited to
 * the pipeline's index, each mapped to one IAM role (a backend role). Pure data, shared by the custom resource that
 * applies it and by the tests that check it; the master user (cluster admin) is a separate role nothing else assumes.
 */

/** The security plugin's role document (`PUT _plugins/_security/api/roles/<name>`). */
export interface SecurityRole {
  readonly cluster_permissions: readonly string[];
  readonly index_permissions: readonly { readonly index_patterns: readonly string[]; readonly allowed_actions: readonly string[] }[];
}

export interface SecurityRoleMapping {
  /** The plugin's role name. */
  readonly role: string;
  readonly definition: SecurityRole;
  /** IAM role ARNs mapped to it (`backend_roles`). */
  readonly backendRoles: readonly string[];
}

export const WRITER_ROLE = 'ordered-fanout-writer';
export const OPERATOR_ROLE = 'ordered-fanout-operator';

/**
 * The search consumer writes one index: `_bulk` (a cluster-level action that the plugin then checks per index), index
 * and delete documents, create the index with its mapping if missing, and read it (reconcile reads through the same
 * permissions). The operator reads and repairs the same index, nothing else.
 */
export function searchSecurityRoles(index: string, writerRoleArn: string, operatorRoleArn: string): SecurityRoleMapping[] {
  const bulk = ['indices:data/write/bulk'];
  return [
    {
      role: WRITER_ROLE,
      backendRoles: [writerRoleArn],
      definition: {
        cluster_permissions: bulk,
        index_permissions: [{ index_patterns: [index], allowed_actions: ['crud', 'create_index', 'indices:admin/get', 'indices:admin/mapping/put'] }],
      },
    },
    {
      role: OPERATOR_ROLE,
      backendRoles: [operatorRoleArn],
      definition: {
        cluster_permissions: bulk,
        index_permissions: [{ index_patterns: [index], allowed_actions: ['crud', 'indices:admin/get', 'indices_monitor'] }],
      },
    },
  ];
}
