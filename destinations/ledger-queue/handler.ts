import { pluginHandler } from '../../shared/destination-plugin/plugin-runtime';
import { ledgerQueueRuntime } from './runtime';

/** The ledger-queue consumer (in-order → SQS FIFO), wired from environment variables. */
export const handler = pluginHandler(ledgerQueueRuntime);
