import { pluginSweeper } from '../../shared/destination-plugin/plugin-runtime';
import { ledgerQueueRuntime } from './runtime';

/** The ledger-queue gap sweeper: `in-order` parks records behind a missing version; this heals or times them out. */
export const handler = pluginSweeper(ledgerQueueRuntime);
