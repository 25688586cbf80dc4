import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { readSearchSettings, type ConsumerConfig } from '../../shared/config/consumer-config';
import { integer } from '../../shared/config/env';
import { REQUEST_TIMEOUTS } from '../../shared/consumer/clients';
import type { RuntimePlugin } from '../../shared/destination-plugin/runtime-plugin';
import { DEFAULT_MAX_BULK_BYTES } from './bulk-body';
import { OpenSearchIndex } from './opensearch-index';

export type SearchRuntimeSettings = NonNullable<ConsumerConfig['search']> & { readonly maxBulkBytes: number };

/** The runtime half of the search destination: latest-state → OpenSearch, one externally versioned document per account. */
export const searchRuntime: RuntimePlugin<SearchRuntimeSettings> = {
  name: 'search',
  mode: 'latest-state',
  readSettings: (env) => ({
    ...readSearchSettings(env),
    // Up to 100 MiB, the largest instance types' request limit.
    maxBulkBytes: integer(env, 'SEARCH_MAX_BULK_BYTES', DEFAULT_MAX_BULK_BYTES, { min: 1_024, max: 100 * 1024 * 1024 }),
  }),
  createDestination(search, { retrier, region }) {
    const signer =
      search.auth === 'sigv4' ? AwsSigv4Signer({ region: search.region ?? region, service: search.sigv4Service, getCredentials: defaultProvider() }) : {};
    // The adapter owns retries (maxRetries: 0) so that each one is counted and bounded by the invocation's time.
    const client = new Client({ ...signer, node: search.endpoint, maxRetries: 0, requestTimeout: REQUEST_TIMEOUTS.requestTimeoutMs });
    const destination = new OpenSearchIndex({ client, index: search.index, bulkSize: search.bulkSize, maxBulkBytes: search.maxBulkBytes, retrier });
    return { destination, close: () => void client.close() };
  },
};
