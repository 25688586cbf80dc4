import type { SearchSettings } from '../../infra/config/pipeline-config';
import { SearchIndex } from '../../infra/constructs/search-index';
import type { InfraPlugin } from '../../infra/plugins/infra-plugin';

/**
 * The infrastructure half of the search destination (OpenSearch, `latest-state`, so no gap sweeper): a
 * `SearchIndex`, a created domain with its alarms, or one imported by `domainEndpoint` and `domainArn`. Its options are
 * its settings (`destinations.search`, as `parsePipelineConfig` checked them).
 */
export const searchInfra: InfraPlugin<SearchSettings, 'search'> = {
  name: 'search',
  mode: 'latest-state',
  handler: 'consumers/search/handler.ts',
  // A created domain's fine-grained access roles are applied by this custom resource's function.
  functions: ['infra/search-security/handler.ts'],
  // The ids the construct gave these before search was a plug-in: a deployed stack updates in place.
  constructIds: { target: 'SearchIndex', role: 'SearchConsumerRole', alarms: 'SearchDomainAlarms' },
  createTarget: (scope, id, { options }) => new SearchIndex(scope, id, { settings: options }),
};
