import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { readConsumerConfig } from '../../shared/config/consumer-config';
import type { Env } from '../../shared/config/env';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import { buildRuntime, type BuiltRuntime, type RuntimeOptions } from '../../shared/consumer/runtime';
import { OpenSearchIndex } from './opensearch-index';

/** The search consumer (latest-state → OpenSearch), wired from environment variables. */
export function createSearchRuntime(env: Env = process.env, options: RuntimeOptions = {}): BuiltRuntime {
  const config = readConsumerConfig('search', env);
  const search = config.search as NonNullable<typeof config.search>;
  return buildRuntime(
    config,
    (retrier) => {
      const signer =
        search.auth === 'sigv4'
          ? AwsSigv4Signer({ region: config.region, service: search.sigv4Service, getCredentials: defaultProvider() })
          : {};
      // The adapter owns retries (maxRetries: 0) so that each one is counted and bounded by the invocation's time.
      const client = new Client({ ...signer, node: search.endpoint, maxRetries: 0, requestTimeout: 10_000 });
      return {
        destination: new OpenSearchIndex({ client, index: search.index, bulkSize: search.bulkSize, retrier }),
        close: () => void client.close(),
      };
    },
    options,
  );
}

export const handler = createKinesisHandler(() => createSearchRuntime());
