import { Client } from '@opensearch-project/opensearch';
import type { SearchSettings } from '../../infra/config/pipeline-config';
import type { HeldVersion, LocalPlugin } from '../../local/plugins/local-plugin';
import { faultProfile, injectedOf, ratedFault, slowFault, type DestinationFaultKinds } from '../../local/standins/fault-spec';
import { startOpenSearchStandIn, type OpenSearchFaults } from '../../local/standins/opensearch/server';

/** What the OpenSearch stand-in can do to search's requests for `--destination-faults`. */
const SEARCH_FAULTS: DestinationFaultKinds = {
  kinds: {
    '429': ratedFault('throttleRate', 'requests answered 429 rejected_execution_exception'),
    '429-item': ratedFault('itemThrottleRate', '_bulk items failing 429 rejected_execution_exception'),
    '503': ratedFault('unavailableRate', 'requests answered 503 cluster_block_exception (no cluster-manager)'),
    '403': ratedFault('writeBlockRate', 'writes refused 403 cluster_block_exception (_bulk: cluster read-only)'),
    '403-item': ratedFault('itemWriteBlockRate', '_bulk items failing 403 cluster_block_exception (index write block)'),
    'flood-item': ratedFault('itemFloodStageRate', '_bulk items failing 429 cluster_block_exception (disk flood stage)'),
    slow: slowFault('writes'),
  },
  // The three `_bulk` item faults add up, hence their lower rate.
  all: '429:0.05,429-item:0.02,503:0.05,403:0.05,403-item:0.02,flood-item:0.02,slow:0.01@20000',
};

const INJECTED = ['throttled', 'itemThrottled', 'unavailable', 'writeBlocked', 'itemWriteBlocked', 'itemFloodBlocked', 'held', 'abandoned'];

/**
 * The search index on an OpenSearch stand-in of its own (no OpenSearch runs on this project's machines). Read back
 * from the stand-in's log of the writes the index accepted (external versioning refuses the rest), and checked by
 * what the index holds now, through the real OpenSearch client.
 */
export const searchLocal: LocalPlugin<SearchSettings> = {
  faults: SEARCH_FAULTS,
  duplicates: 'external versioning refuses them',
  async start({ settings }) {
    const openSearch = await startOpenSearchStandIn();
    const { index } = settings;
    return {
      environment: { SEARCH_ENDPOINT: openSearch.endpoint, SEARCH_INDEX: index, SEARCH_AUTH: 'none' },
      endpoints: { opensearch: openSearch.endpoint },
      resource: `search index ${index}`,
      readBack: async () => {
        const writes = openSearch.writes(index);
        // An account by its documents' own field: a long id's _id is a bounded form of it (`documentId`), and a delete
        // carries no document, so it takes the account of an earlier write of its _id.
        const accounts = new Map<string, string>();
        for (const write of writes) if (typeof write.source?.account_id === 'string') accounts.set(write.id, write.source.account_id);
        return writes.map((write) => ({
          accountId: accounts.get(write.id) ?? write.id,
          version: write.version,
          healed: false,
          ...(typeof write.source?.balance === 'number' ? { balance: write.source.balance } : {}),
          at: write.at,
        }));
      },
      currentState: () => readDocuments(openSearch.endpoint, index),
      failCalls: (rate, seed) => openSearch.setFaults({ throttleRate: rate, seed }),
      injectFaults: (rules, seed) => openSearch.setFaults(faultProfile(SEARCH_FAULTS.kinds, rules, seed) as OpenSearchFaults),
      injectedCounts: () => injectedOf(openSearch.stats, INJECTED),
      stop: () => openSearch.stop(),
    };
  },
};

/** What the index holds now, through the real OpenSearch client: version and balance per account. */
async function readDocuments(node: string, index: string): Promise<Map<string, HeldVersion>> {
  const client = new Client({ node });
  try {
    const documents = new Map<string, HeldVersion>();
    const exists = await client.indices.exists({ index });
    if (exists.body) {
      const response = await client.search({ index, body: { query: { match_all: {} }, size: 10_000 }, version: true });
      for (const hit of response.body.hits.hits as { _id: string; _version: number; _source: { account_id?: string; balance?: number } }[]) {
        documents.set(hit._source.account_id ?? hit._id, { version: hit._version, balance: hit._source.balance });
      }
    }
    return documents;
  } finally {
    await client.close();
  }
}
