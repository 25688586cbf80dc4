import { createSweepHandler } from '../../shared/consumer/sweep-handler';
import { createFraudRuntime } from './handler';

/**
 * The fraud gap sweeper (scheduled every minute by the stack): `in-order` parks records behind a missing version, and
 * this heals, drains or times them out (GAP_TIMEOUT) even when no traffic arrives. Same configuration as the consumer.
 */
export const handler = createSweepHandler(() => createFraudRuntime());
