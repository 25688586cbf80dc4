import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { ConfigurationError, formatted, integer, oneOf, url } from '../../shared/config/env';
import { INDEX_NAME_RULE, isIndexName, isOrigin, isRegion } from '../../shared/config/formats';
import { REQUEST_TIMEOUTS } from '../../shared/consumer/clients';
import type { RuntimePlugin } from '../../shared/destination-plugin/runtime-plugin';
import { DEFAULT_MAX_BULK_BYTES, documentId } from './bulk-body';
import { OpenSearchIndex } from './opensearch-index';

export interface SearchRuntimeSettings {
  readonly endpoint: string;
  readonly index: string;
  readonly auth: 'sigv4' | 'none';
  readonly sigv4Service: 'es' | 'aoss';
  /** The region SigV4 signs for: the domain's, which may not be the function's (`SEARCH_REGION`). */
  readonly region?: string;
  readonly bulkSize: number;
  readonly maxBulkBytes: number;
}

/** The runtime half of the search destination: latest-state → OpenSearch, one externally versioned document per account. */
export const searchRuntime: RuntimePlugin<SearchRuntimeSettings> = {
  name: 'search',
  mode: 'latest-state',
  readSettings: (env) => {
    const endpoint = url(env, 'SEARCH_ENDPOINT');
    if (endpoint === undefined) throw new ConfigurationError('SEARCH_ENDPOINT', 'is required and is not set');
    // The index's path is built on it: a path, query or credentials in the endpoint would send every request elsewhere.
    if (!isOrigin(endpoint, ['http:', 'https:'])) throw new ConfigurationError('SEARCH_ENDPOINT', `must be an origin (http(s)://host[:port]) without path, query or credentials, got "${endpoint}"`);
    const region = formatted(env, 'SEARCH_REGION', isRegion, 'an AWS region name, e.g. eu-west-1');
    return {
      endpoint,
      index: formatted(env, 'SEARCH_INDEX', isIndexName, INDEX_NAME_RULE) ?? 'accounts',
      auth: oneOf(env, 'SEARCH_AUTH', ['sigv4', 'none'], 'sigv4'),
      sigv4Service: oneOf(env, 'SEARCH_SIGV4_SERVICE', ['es', 'aoss'], 'es'),
      ...(region === undefined ? {} : { region }),
      bulkSize: integer(env, 'SEARCH_BULK_SIZE', 500, { min: 1, max: 10_000 }),
      // Up to 100 MiB, the largest instance types' request limit.
      maxBulkBytes: integer(env, 'SEARCH_MAX_BULK_BYTES', DEFAULT_MAX_BULK_BYTES, { min: 1_024, max: 100 * 1024 * 1024 }),
    };
  },
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
        const response = await client.get({ index: search.index, id: documentId(accountId), _source: false }, { ignore: [404] });
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
