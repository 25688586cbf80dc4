/**
 * OpenSearch-shaped errors for the OpenSearch stand-in. Every error the stand-in answers with is an
 * {@link OpenSearchError}: its type names are OpenSearch's (the Java exception's simple name in snake case, with the
 * `OpenSearch` prefix stripped, e.g. `OpenSearchRejectedExecutionException` → `rejected_execution_exception`).
 */

/** Cause nested under `caused_by`, as OpenSearch renders a wrapped exception. */
export interface ErrorCause {
  readonly type: string;
  readonly reason: string | null;
  readonly caused_by?: ErrorCause;
}

export class OpenSearchError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    readonly reason: string | null,
    /** Metadata OpenSearch adds next to type and reason (index, shard, index_uuid, resource.id, ...). */
    readonly metadata: Readonly<Record<string, unknown>> = {},
    readonly causedBy?: ErrorCause,
    /** Overrides the single root cause (search_phase_execution_exception reports the shard failure as its root). */
    readonly rootCause?: ErrorCause & Readonly<Record<string, unknown>>,
  ) {
    super(`${type}: ${reason ?? ''}`);
    this.name = 'OpenSearchError';
  }

  /** The `error` object of a bulk item (OpenSearch renders item failures without root_cause). */
  itemError(): Record<string, unknown> {
    return {
      type: this.type,
      reason: this.reason,
      ...this.metadata,
      ...(this.causedBy ? { caused_by: this.causedBy } : {}),
    };
  }

  /** The whole response body: `{ error: { root_cause: [...], type, reason, ... }, status }`. */
  body(): Record<string, unknown> {
    const rootCause = this.rootCause ?? { type: this.type, reason: this.reason, ...this.metadata };
    return {
      error: { root_cause: [rootCause], ...this.itemError() },
      status: this.status,
    };
  }
}

/** The type OpenSearch 2.x reports for a rejection (Elasticsearch called it `es_rejected_execution_exception`). */
export const REJECTED_EXECUTION_TYPE = 'rejected_execution_exception';

export function illegalArgument(reason: string, causedBy?: ErrorCause): OpenSearchError {
  return new OpenSearchError(400, 'illegal_argument_exception', reason, {}, causedBy);
}

/** `Validation Failed: 1: a;2: b;`, OpenSearch's ActionRequestValidationException message. */
export function validationFailed(messages: readonly string[]): OpenSearchError {
  const reason = `Validation Failed: ${messages.map((m, i) => `${i + 1}: ${m};`).join('')}`;
  return new OpenSearchError(400, 'action_request_validation_exception', reason);
}

export function jsonParseError(error: unknown): OpenSearchError {
  const detail = error instanceof Error ? error.message : String(error);
  return new OpenSearchError(400, 'json_parse_exception', detail);
}

/** The body of a request (index creation, search, mapping) could not be read as JSON. */
export function parseFailure(error: unknown): OpenSearchError {
  const cause = jsonParseError(error);
  return new OpenSearchError(400, 'parse_exception', 'Failed to parse content to map', {}, {
    type: cause.type,
    reason: cause.reason,
  });
}

export function indexNotFound(index: string): OpenSearchError {
  return new OpenSearchError(404, 'index_not_found_exception', `no such index [${index}]`, {
    index,
    'resource.id': index,
    'resource.type': 'index_or_alias',
    index_uuid: '_na_',
  });
}

export function indexAlreadyExists(index: string, uuid: string): OpenSearchError {
  return new OpenSearchError(400, 'resource_already_exists_exception', `index [${index}/${uuid}] already exists`, {
    index,
    index_uuid: uuid,
  });
}

/** Shard-level metadata: the stand-in holds every index in a single shard 0. */
function shardMeta(index: string, uuid: string): Record<string, string> {
  return { index, shard: '0', index_uuid: uuid };
}

export function versionConflict(index: string, uuid: string, id: string, explanation: string): OpenSearchError {
  return new OpenSearchError(
    409,
    'version_conflict_engine_exception',
    `[${id}]: version conflict, ${explanation}`,
    shardMeta(index, uuid),
  );
}

export function documentMissing(index: string, uuid: string, id: string): OpenSearchError {
  return new OpenSearchError(404, 'document_missing_exception', `[${id}]: document missing`, shardMeta(index, uuid));
}

export function mapperParsing(reason: string, causedBy?: ErrorCause): OpenSearchError {
  return new OpenSearchError(400, 'mapper_parsing_exception', reason, {}, causedBy);
}

export function strictDynamicMapping(field: string, parent: string): OpenSearchError {
  return new OpenSearchError(
    400,
    'strict_dynamic_mapping_exception',
    `mapping set to strict, dynamic introduction of [${field}] within [${parent}] is not allowed`,
  );
}

/** The whole-request 429 of OpenSearch's indexing back-pressure. */
export function requestRejected(bytes: number): OpenSearchError {
  const max = 53_687_091;
  return new OpenSearchError(
    429,
    REJECTED_EXECUTION_TYPE,
    `rejected execution of coordinating operation [coordinating_and_primary_bytes=${max}, replica_bytes=0, ` +
      `all_bytes=${max}, coordinating_operation_bytes=${bytes}, max_coordinating_and_primary_bytes=${max}]`,
  );
}

/** A bulk item rejected by the write thread pool of its shard. */
export function itemRejected(index: string): OpenSearchError {
  return new OpenSearchError(
    429,
    REJECTED_EXECUTION_TYPE,
    `rejected execution of primary operation [shard_detail=[${index}][0][P], shard_coordinating_and_primary_bytes=0, ` +
      'shard_operation_bytes=0, shard_max_coordinating_and_primary_bytes=0] OR [node_coordinating_and_primary_bytes=0, ' +
      'node_replica_bytes=0, node_all_bytes=0, node_operation_bytes=0, node_max_coordinating_and_primary_bytes=0]',
  );
}

/**
 * Write blocks (ClusterBlockException). The HTTP status is the block's own: an index's write block (`index.blocks.write`,
 * which Amazon OpenSearch Service also sets under JVM memory pressure) and the cluster's read-only block are
 * FORBIDDEN (403); the disk flood-stage block (`read_only_allow_delete`) is TOO_MANY_REQUESTS (429) since
 * Elasticsearch 7.x, and so in OpenSearch, and lets deletes through.
 */
export type WriteBlock = 'index-write' | 'flood-stage';

export function indexBlocked(index: string, block: WriteBlock): OpenSearchError {
  return block === 'index-write'
    ? new OpenSearchError(403, 'cluster_block_exception', `index [${index}] blocked by: [FORBIDDEN/8/index write (api)];`)
    : new OpenSearchError(
        429,
        'cluster_block_exception',
        `index [${index}] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block];`,
      );
}

/** The cluster-wide read-only block (`cluster.blocks.read_only`): what refuses a `_bulk` as a whole. */
export function clusterReadOnly(): OpenSearchError {
  return new OpenSearchError(403, 'cluster_block_exception', 'blocked by: [FORBIDDEN/6/cluster read-only (api)];');
}

/** What a cluster without an elected cluster-manager answers: 503. */
export function serviceUnavailable(): OpenSearchError {
  return new OpenSearchError(503, 'cluster_block_exception', 'blocked by: [SERVICE_UNAVAILABLE/2/no cluster-manager];');
}

export function noHandler(method: string, uri: string): OpenSearchError {
  return illegalArgument(`no handler found for uri [${uri}] and method [${method}]`);
}

export function methodNotAllowed(method: string, uri: string, allowed: readonly string[]): OpenSearchError {
  return new OpenSearchError(
    405,
    'illegal_argument_exception',
    `Incorrect HTTP method for uri [${uri}] and method [${method}], allowed: [${allowed.join(', ')}]`,
  );
}

/** Shard failures of a search are reported as `search_phase_execution_exception` whose root cause is the failure. */
export function searchFailure(index: string, cause: OpenSearchError): OpenSearchError {
  const reason = { type: cause.type, reason: cause.reason ?? '' };
  return new OpenSearchError(
    cause.status,
    'search_phase_execution_exception',
    'all shards failed',
    {
      phase: 'query',
      grouped: true,
      failed_shards: [{ shard: 0, index, node: 'standin-node', reason }],
    },
    reason,
    reason,
  );
}
