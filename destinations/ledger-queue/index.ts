/**
 * The ledger-queue destination plug-in (SQS FIFO, `in-order`): its three halves. Lambda bundles only `handler.ts` and
 * `sweeper.ts`, which import the runtime half alone; this module is for the CDK app and `npm start`.
 */
import type { DestinationPlugin } from '../plugin';
import { ledgerQueueInfra, type LedgerQueueOptions } from './infra';
import { ledgerQueueLocal } from './local';
import { ledgerQueueRuntime, type LedgerQueueSettings } from './runtime';

export const ledgerQueue: DestinationPlugin<LedgerQueueSettings, LedgerQueueOptions, 'ledger-queue'> = {
  runtime: ledgerQueueRuntime,
  infra: ledgerQueueInfra,
  local: ledgerQueueLocal,
};

export { LedgerQueue, type LedgerQueueOptions } from './infra';
