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
    // The adapter owns retries (maxRetries: 0) so that each one is counted and bounded by the invocation's time.
    const client = new Client({ ...signerOf(search, region), node: search.endpoint, maxRetries: 0, requestTimeout: REQUEST_TIMEOUTS.requestTimeoutMs });
    const destination = new OpenSearchIndex({ client, index: search.index, bulkSize: search.bulkSize, maxBulkBytes: search.maxBulkBytes, retrier });
    return { destination, close: () => void client.close() };
  },
  /** `fanout reconcile --contents`: the version of the account's document (external versioning), or none. */
  reconcileReader(search, { region }) {
    const client = new Client({ ...signerOf(search, region), node: search.endpoint, maxRetries: 2, requestTimeout: 10_000 });
    return {
      async read({ accountId }) {
        const response = await client.get({ index: search.index, id: accountId, _source: false }, { ignore: [404] });
        const body = response.body as { found?: boolean; _version?: number };
        return response.statusCode === 404 || !body.found ? null : (body._version ?? null);
      },
      close: () => void client.close(),
    };
  },
};

function signerOf(search: SearchRuntimeSettings, region: string) {
  return search.auth === 'sigv4' ? AwsSigv4Signer({ region: search.region ?? region, service: search.sigv4Service, getCredentials: defaultProvider() }) : {};
}
