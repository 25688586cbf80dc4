import { pluginSweeper } from '../../shared/destination-plugin/plugin-runtime';
import { ledgerQueueRuntime } from './runtime';

export const handler = pluginSweeper(ledgerQueueRuntime);
