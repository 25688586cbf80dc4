/**
 * The REST endpoints of the OpenSearch stand-in, routed as OpenSearch routes them (`/<index>/_doc/<id>` etc.),
 * over an in-memory {@link Cluster} of single-shard indices.
 */
import { executeBulk, parseBulk, parseUpdate, SCRIPTS_UNSUPPORTED, type BulkActionName } from './bulk';
import {
  type OpenSearchError,
  illegalArgument, indexAlreadyExists, indexNotFound, methodNotAllowed, noHandler, parseFailure, validationFailed,
} from './errors';
import { isPlainObject, parseMappings } from './mapping';
import { clusterHealth, info, settingsOf } from './info';
import { flattenSettings, validateSettings } from './settings';
import { count, search } from './search';
import {
  assertValidWrite, IndexState, newIndex, parseLong, parseVersionType, PRIMARY_TERM, type WriteResult,
} from './store';

export interface Request {
  readonly method: string;
  readonly path: string;
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
  readonly body: string;
}

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
}

export interface ClusterHooks {
  count(stat: string, by?: number): void;
  /** The error fault injection fails a `_bulk` item with, if any. */
  rejectItem(index: string, action: BulkActionName): OpenSearchError | undefined;
}

const STATIC_SETTINGS = new Set(['index.number_of_shards', 'index.uuid', 'index.creation_date', 'index.provided_name']);

function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

function jsonObject(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch (error) {
    throw parseFailure(error);
  }
  if (!isPlainObject(parsed)) throw parseFailure(new Error('request body is required to be a JSON object'));
  return parsed;
}

function allowMethods(request: Request, allowed: readonly string[]): void {
  if (!allowed.includes(request.method)) throw methodNotAllowed(request.method, request.path, allowed);
}

function isTrue(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value === '' || value === 'true';
}

export class Cluster {
  readonly indices = new Map<string, IndexState>();

  constructor(
    private readonly hooks: ClusterHooks,
    private readonly now: () => number = Date.now,
  ) {}

  /** The index named `name`: an index write auto-creates it, as OpenSearch's `action.auto_create_index` does. */
  index(name: string, autoCreate: boolean): IndexState {
    const existing = this.indices.get(name);
    if (existing !== undefined) return existing;
    if (!autoCreate) throw indexNotFound(name);
    const created = newIndex(name, {}, this.now);
    this.indices.set(name, created);
    return created;
  }

  /** Indices an expression names: `_all`, `*`, a comma list, wildcards; a missing concrete name is a 404. */
  resolve(expression: string | undefined): IndexState[] {
    if (expression === undefined || expression === '_all' || expression === '*') {
      return [...this.indices.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    }
    const found = new Set<IndexState>();
    for (const part of expression.split(',').filter((p) => p !== '')) {
      if (part.includes('*')) {
        const pattern = globToRegExp(part);
        for (const index of this.indices.values()) if (pattern.test(index.name)) found.add(index);
      } else {
        found.add(this.index(part, false));
      }
    }
    return [...found];
  }

  handle(request: Request): Reply {
    const { method, segments } = request;
    const [first, second, third, ...rest] = segments;
    const allow = (...allowed: string[]): void => allowMethods(request, allowed);
    if (rest.length > 0) throw noHandler(method, request.path);
    if (first === undefined) {
      allow('GET', 'HEAD');
      this.hooks.count('info');
      return { status: 200, body: info() };
    }
    if (first === '_cluster' && second === 'health' && third === undefined) {
      allow('GET');
      this.hooks.count('health');
      return { status: 200, body: clusterHealth([...this.indices.values()]) };
    }
    if (first.startsWith('_')) {
      if (second !== undefined) throw noHandler(method, request.path);
      return this.indexEndpoint(request, undefined, first);
    }
    if (second === undefined) return this.indexAdmin(request, first);
    if (third === undefined && !['_doc'].includes(second)) return this.indexEndpoint(request, first, second);
    switch (second) {
      case '_doc':
        if (third === undefined) {
          allow('POST');
          return this.write(request, first, undefined, 'index');
        }
        if (method === 'PUT' || method === 'POST') return this.write(request, first, third, 'index');
        if (method === 'GET' || method === 'HEAD') return this.get(request, first, third);
        allow('DELETE', 'GET', 'HEAD', 'POST', 'PUT');
        return this.remove(request, first, third);
      case '_create':
        allow('PUT', 'POST');
        return this.write(request, first, third, 'create');
      case '_update':
        allow('POST');
        return this.update(request, first, third ?? '');
      default:
        throw noHandler(method, request.path);
    }
  }

  private indexAdmin(request: Request, name: string): Reply {
    switch (request.method) {
      case 'PUT': {
        this.hooks.count('createIndex');
        const existing = this.indices.get(name);
        if (existing !== undefined) throw indexAlreadyExists(name, existing.uuid);
        this.indices.set(name, newIndex(name, jsonObject(request.body), this.now));
        return { status: 200, body: { acknowledged: true, shards_acknowledged: true, index: name } };
      }
      case 'HEAD':
        this.hooks.count('indexExists');
        this.resolve(name);
        return { status: 200 };
      case 'GET': {
        this.hooks.count('getIndex');
        const entries = this.resolve(name).map((i) => [i.name, { aliases: {}, mappings: i.mappings, settings: settingsOf(i) }]);
        return { status: 200, body: Object.fromEntries(entries) };
      }
      case 'DELETE':
        this.hooks.count('deleteIndex');
        for (const index of this.resolve(name)) this.indices.delete(index.name);
        return { status: 200, body: { acknowledged: true } };
      default:
        throw methodNotAllowed(request.method, request.path, ['DELETE', 'GET', 'HEAD', 'PUT']);
    }
  }

  private indexEndpoint(request: Request, name: string | undefined, endpoint: string): Reply {
    const { method } = request;
    const allow = (...allowed: string[]): void => allowMethods(request, allowed);
    switch (endpoint) {
      case '_bulk': {
        allow('POST', 'PUT');
        this.hooks.count('bulk');
        const operations = parseBulk(request.body, name);
        const forcedRefresh = isTrue(request.query, 'refresh');
        return {
          status: 200,
          body: executeBulk(operations, {
            index: (index, autoCreate) => this.index(index, autoCreate),
            rejectItem: (index, action) => this.hooks.rejectItem(index, action),
            count: (stat, by) => this.hooks.count(stat, by),
            forcedRefresh,
          }),
        };
      }
      case '_search':
        allow('GET', 'POST');
        this.hooks.count('search');
        return { status: 200, body: search(this.resolve(name), jsonObject(request.body), request.query) };
      case '_count':
        allow('GET', 'POST');
        this.hooks.count('count');
        return { status: 200, body: count(this.resolve(name), jsonObject(request.body)) };
      case '_refresh': {
        allow('GET', 'POST');
        this.hooks.count('refresh');
        const n = this.resolve(name).length;
        return { status: 200, body: { _shards: { total: n * 2, successful: n, failed: 0 } } };
      }
      case '_mapping': {
        if (method === 'GET') {
          this.hooks.count('getMapping');
          return { status: 200, body: Object.fromEntries(this.resolve(name).map((i) => [i.name, { mappings: i.mappings }])) };
        }
        allow('GET', 'POST', 'PUT');
        this.hooks.count('putMapping');
        const mappings = parseMappings(jsonObject(request.body));
        const targets = this.resolve(name);
        for (const index of targets) index.putMappings(mappings);
        return { status: 200, body: { acknowledged: true } };
      }
      case '_settings': {
        if (method === 'GET') {
          this.hooks.count('getSettings');
          return { status: 200, body: Object.fromEntries(this.resolve(name).map((i) => [i.name, { settings: settingsOf(i) }])) };
        }
        allow('GET', 'PUT');
        this.hooks.count('putSettings');
        const body = jsonObject(request.body);
        const changes = flattenSettings(isPlainObject(body.settings) ? body.settings : body);
        const targets = this.resolve(name);
        const fixed = Object.keys(changes).filter((k) => STATIC_SETTINGS.has(k));
        if (fixed.length > 0) {
          throw illegalArgument(`Can't update non dynamic settings [[${fixed.join(', ')}]] for open indices ` +
            `[${targets.map((i) => `[${i.name}/${i.uuid}]`).join(', ')}]`);
        }
        validateSettings(changes);
        for (const index of targets) index.settings = { ...index.settings, ...changes };
        return { status: 200, body: { acknowledged: true } };
      }
      default:
        throw noHandler(method, request.path);
    }
  }

  private write(request: Request, name: string, id: string | undefined, route: 'index' | 'create'): Reply {
    this.hooks.count('indexDoc');
    const { query } = request;
    const opType = route === 'create' || query.get('op_type') === 'create' ? 'create' : 'index';
    const params = {
      id,
      opType,
      version: parseLong(query.get('version'), 'version'),
      versionType: parseVersionType(query.get('version_type') ?? undefined),
      ifSeqNo: parseLong(query.get('if_seq_no'), 'if_seq_no'),
      ifPrimaryTerm: parseLong(query.get('if_primary_term'), 'if_primary_term'),
    } as const;
    if (request.body.trim() === '') throw validationFailed(['source is missing', 'content type is missing']);
    assertValidWrite(opType, params);
    let source: unknown;
    try {
      source = JSON.parse(request.body) as unknown;
    } catch (error) {
      source = error instanceof Error ? error : new Error(String(error));
    }
    return this.reply(this.index(name, true).index(params, source), request);
  }

  private remove(request: Request, name: string, id: string): Reply {
    this.hooks.count('deleteDoc');
    const { query } = request;
    const params = {
      id,
      version: parseLong(query.get('version'), 'version'),
      versionType: parseVersionType(query.get('version_type') ?? undefined),
      ifSeqNo: parseLong(query.get('if_seq_no'), 'if_seq_no'),
      ifPrimaryTerm: parseLong(query.get('if_primary_term'), 'if_primary_term'),
    };
    assertValidWrite('delete', params);
    // Deletes only create a missing index when they carry an external version (TransportBulkAction).
    const index = this.index(name, params.versionType !== 'internal');
    return this.reply(index.delete(params), request);
  }

  private update(request: Request, name: string, id: string): Reply {
    this.hooks.count('updateDoc');
    const spec = parseUpdate(request.body.trim() === '' ? '{}' : request.body);
    if (spec.doc === undefined && spec.script === undefined) throw validationFailed(['script or doc is missing']);
    if (spec.script !== undefined) throw illegalArgument(SCRIPTS_UNSUPPORTED);
    const cas = {
      ifSeqNo: parseLong(request.query.get('if_seq_no'), 'if_seq_no'),
      ifPrimaryTerm: parseLong(request.query.get('if_primary_term'), 'if_primary_term'),
    };
    return this.reply(this.index(name, true).update(id, spec, cas), request);
  }

  private get(request: Request, name: string, id: string): Reply {
    this.hooks.count(request.method === 'HEAD' ? 'docExists' : 'getDoc');
    const index = this.index(name, false);
    const doc = index.docs.get(id);
    if (doc === undefined) return { status: 404, body: { _index: name, _id: id, found: false } };
    const withSource = request.query.get('_source') !== 'false';
    return {
      status: 200,
      body: {
        _index: name, _id: id, _version: doc.version, _seq_no: doc.seqNo, _primary_term: PRIMARY_TERM, found: true,
        ...(withSource ? { _source: structuredClone(doc.source) } : {}),
      },
    };
  }

  private reply(result: WriteResult, request: Request): Reply {
    const forced = isTrue(request.query, 'refresh') ? { forced_refresh: true } : {};
    return { status: result.status, body: { ...result.body, ...forced } };
  }
}
