import { pluginSweeper } from '../../shared/destination-plugin/plugin-runtime';
import { fraudRuntime } from './runtime';

/**
 * The fraud gap sweeper (scheduled every minute by the stack): `in-order` parks records behind a missing version, and
 * this heals, drains or times them out (GAP_TIMEOUT) even when no traffic arrives. Same configuration as the consumer.
 */
export const handler = pluginSweeper(fraudRuntime);
