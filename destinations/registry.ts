import type { DestinationPlugin } from './plugin';
import { ledgerQueue } from './ledger-queue';

/** The plug-in destinations that ship with the package, by name: what `npm start -- --destinations` can add. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each plug-in has its own settings and options types
export const BUILT_IN_PLUGINS: Readonly<Record<string, DestinationPlugin<any, any>>> = {
  'ledger-queue': ledgerQueue,
};
