import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { readConsumerConfig } from '../../shared/config/consumer-config';
import { integer, type Env } from '../../shared/config/env';
import { REQUEST_TIMEOUTS } from '../../shared/consumer/clients';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import { buildRuntime, type BuiltRuntime, type RuntimeOptions } from '../../shared/consumer/runtime';
import { DEFAULT_MAX_BULK_BYTES } from './bulk-body';
import { OpenSearchIndex } from './opensearch-index';

/** The search consumer (latest-state → OpenSearch), wired from environment variables. */
export function createSearchRuntime(env: Env = process.env, options: RuntimeOptions = {}): BuiltRuntime {
  const config = readConsumerConfig('search', env);
  const search = config.search as NonNullable<typeof config.search>;
  // Read here, next to its one user, until the shared consumer configuration carries it (up to 100 MiB, the largest
  // instance types' limit).
  const maxBulkBytes = integer(env, 'SEARCH_MAX_BULK_BYTES', DEFAULT_MAX_BULK_BYTES, { min: 1_024, max: 100 * 1024 * 1024 });
  return buildRuntime(
    config,
    (retrier) => {
      const signer =
        search.auth === 'sigv4'
          ? AwsSigv4Signer({ region: search.region ?? config.region, service: search.sigv4Service, getCredentials: defaultProvider() })
          : {};
      // The adapter owns retries (maxRetries: 0) so that each one is counted and bounded by the invocation's time.
      const client = new Client({ ...signer, node: search.endpoint, maxRetries: 0, requestTimeout: REQUEST_TIMEOUTS.requestTimeoutMs });
      return {
        destination: new OpenSearchIndex({ client, index: search.index, bulkSize: search.bulkSize, maxBulkBytes, retrier }),
        close: () => void client.close(),
      };
    },
    options,
  );
}

export const handler = createKinesisHandler(() => createSearchRuntime());
