import type { AuditSettings } from '../../infra/config/pipeline-config';
import { AuditLog } from '../../infra/constructs/audit-log';
import type { InfraPlugin } from '../../infra/plugins/infra-plugin';

/**
 * The infrastructure half of the audit destination (S3, `every-version`): an `AuditLog`, created, or imported by
 * `bucketArn`. Its options are its settings (`destinations.audit`, as `parsePipelineConfig` checked them).
 */
export const auditInfra: InfraPlugin<AuditSettings, 'audit'> = {
  name: 'audit',
  mode: 'every-version',
  handler: 'consumers/audit/handler.ts',
  sweeper: 'consumers/audit/sweeper.ts',
  // The ids the construct gave these before audit was a plug-in: a deployed stack updates in place.
  constructIds: { target: 'AuditLog', role: 'AuditConsumerRole' },
  createTarget: (scope, id, { options, accessLogs }) => new AuditLog(scope, id, { settings: options, accessLogs }),
};
