import { auditInfra } from '../../destinations/audit/infra';
import { fraudInfra } from '../../destinations/fraud/infra';
import { ledgerQueueInfra } from '../../destinations/ledger-queue/infra';
import { searchInfra } from '../../destinations/search/infra';
import type { AuditSettings, DestinationName, FraudSettings, SearchSettings } from '../config/pipeline-config';
import type { InfraPlugin } from './infra-plugin';

/**
 * The infrastructure halves of the built-in destinations, by name: `OrderedFanout` builds `destinations.<d>` through
 * them, as it builds a plug-in of `plugins`. Their options are their settings.
 */
export const BUILT_IN_INFRA_PLUGINS: {
  readonly audit: InfraPlugin<AuditSettings, 'audit'>;
  readonly search: InfraPlugin<SearchSettings, 'search'>;
  readonly fraud: InfraPlugin<FraudSettings, 'fraud'>;
} = { audit: auditInfra, search: searchInfra, fraud: fraudInfra } satisfies Record<DestinationName, { readonly name: DestinationName }>;

/** Every destination whose code ships in the package: the built-ins and the plug-ins of `destinations/`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each plug-in has its own options type
const PACKAGED_PLUGINS: readonly InfraPlugin<any>[] = [...Object.values(BUILT_IN_INFRA_PLUGINS), ledgerQueueInfra];

/**
 * Every handler a function of the pipeline runs, relative to the package root: each packaged plug-in's handler,
 * sweeper and other functions. `npm run build` bundles each into `PREBUILT_DIR`; a handler missing here would deploy
 * from a checkout and fail from the package.
 */
export const FUNCTION_SOURCES: readonly string[] = PACKAGED_PLUGINS.flatMap((plugin) => [
  plugin.handler,
  ...(plugin.sweeper === undefined ? [] : [plugin.sweeper]),
  ...(plugin.functions ?? []),
]);
