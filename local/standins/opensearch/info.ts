/** Cluster-level bodies of the OpenSearch stand-in: `GET /`, `GET /_cluster/health`, an index's settings. */
import { nestSettings } from './settings';
import type { IndexState } from './store';

export const OPENSEARCH_VERSION = '2.17.0';

export function clusterHealth(indices: readonly IndexState[]): Record<string, unknown> {
  // One node: replicas stay unassigned, so an index with replicas (1 by default) makes the cluster yellow.
  const replicas = indices.reduce((n, i) => n + Number(i.settings['index.number_of_replicas'] ?? '1'), 0);
  const active = indices.length;
  return {
    cluster_name: 'opensearch-standin',
    status: replicas > 0 ? 'yellow' : 'green',
    timed_out: false,
    number_of_nodes: 1,
    number_of_data_nodes: 1,
    discovered_master: true,
    discovered_cluster_manager: true,
    active_primary_shards: active,
    active_shards: active,
    relocating_shards: 0,
    initializing_shards: 0,
    unassigned_shards: replicas,
    delayed_unassigned_shards: 0,
    number_of_pending_tasks: 0,
    number_of_in_flight_fetch: 0,
    task_max_waiting_in_queue_millis: 0,
    active_shards_percent_as_number: active + replicas === 0 ? 100 : (100 * active) / (active + replicas),
  };
}

export function settingsOf(index: IndexState): Record<string, unknown> {
  return nestSettings({
    'index.creation_date': String(index.creationDate),
    'index.number_of_shards': '1',
    'index.number_of_replicas': '1',
    ...index.settings,
    'index.uuid': index.uuid,
    'index.version.created': '136377827',
    'index.provided_name': index.name,
  });
}

export function info(): Record<string, unknown> {
  return {
    name: 'opensearch-standin',
    cluster_name: 'opensearch-standin',
    cluster_uuid: 'c2FuZGJveC1zdGFuZGluMQ',
    version: {
      distribution: 'opensearch',
      number: OPENSEARCH_VERSION,
      build_type: 'tar',
      build_hash: 'standin',
      build_date: '2024-09-13T00:00:00.000000000Z',
      build_snapshot: false,
      lucene_version: '9.11.1',
      minimum_wire_compatibility_version: '7.10.0',
      minimum_index_compatibility_version: '7.0.0',
    },
    tagline: 'The OpenSearch Project: https://opensearch.org/',
  };
}
