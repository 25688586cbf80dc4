/** The ledger-queue plug-in's three halves, for the CDK app and `npm start`; Lambda bundles handler.ts and sweeper.ts. */
import type { DestinationPlugin } from '../plugin';
import { ledgerQueueInfra, type LedgerQueueOptions } from './infra';
import { ledgerQueueLocal } from './local';
import { ledgerQueueRuntime, type LedgerQueueSettings } from './runtime';

export const ledgerQueue: DestinationPlugin<LedgerQueueSettings, LedgerQueueOptions, 'ledger-queue'> = {
  runtime: ledgerQueueRuntime, infra: ledgerQueueInfra, local: ledgerQueueLocal,
};
export { LedgerQueue, type LedgerQueueOptions } from './infra';
