import { pluginSweeper } from '../../shared/destination-plugin/plugin-runtime';
import { auditRuntime } from './runtime';

/**
 * The audit gap sweeper (scheduled every minute by the stack): `every-version` delivers without waiting but still
 * tracks versions that never came; this heals them or, past the maximum gap age, reports them (one GAP_TIMEOUT notice)
 * even when no traffic arrives. Same configuration as the consumer. (search, `latest-state`, never waits: no sweeper.)
 */
export const handler = pluginSweeper(auditRuntime);
