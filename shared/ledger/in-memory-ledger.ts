import type { ChangeRecord } from '../change-record/change-record';
import type { Ledger, LedgerWrite, LedgerWriteResult, WaitingAccount } from '../ordering/ports';
import { assertWithinLimit } from './write-limit';
import type { Watermark } from '../ordering/watermark';
import { assertLedgerName, ledgerPartitionKey } from './ledger-table';

/** One destination and epoch's part of the table (its partition key prefix): watermarks and parked records by account. */
interface LedgerScope {
  readonly watermarks: Map<string, Watermark>;
  readonly parked: Map<string, Map<number, ChangeRecord>>;
  sweepPosition?: WaitingAccount;
}

function indexOrder(a: WaitingAccount, b: WaitingAccount): number {
  return a.since - b.since || (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0);
}

/** The shared state behind in-memory ledgers: one per simulated table. */
export class InMemoryLedgerStore {
  private readonly scopes = new Map<string, LedgerScope>();
  readonly requests = { reads: 0, writes: 0 };

  /** The part of the table under one destination and epoch, found once per ledger rather than per request. */
  scope(destination: string, epoch: string): LedgerScope {
    const prefix = ledgerPartitionKey(destination, epoch, '');
    let scope = this.scopes.get(prefix);
    if (scope === undefined) {
      scope = { watermarks: new Map(), parked: new Map() };
      this.scopes.set(prefix, scope);
    }
    return scope;
  }
}

export interface InMemoryLedgerOptions {
  readonly destination: string;
  readonly epoch: string;
  /** Share one store between ledgers to simulate engines working on the same table. */
  readonly store?: InMemoryLedgerStore;
  /** Awaited before every operation; tests use it to interleave engines or inject faults. */
  readonly beforeOperation?: (operation: 'load' | 'parked' | 'write' | 'waiting' | 'sweep-position') => Promise<void>;
}

/**
 * The ledger's in-memory twin, with the same semantics as `DynamoDBLedger`: consistent reads, writes conditional on
 * the revision, parked records keyed by version, parking atomic with the watermark. Watermarks and records are
 * immutable values (their types are readonly throughout; the engine builds a new one for every change), so they are
 * stored and handed out as they are, without copies.
 */
export class InMemoryLedger implements Ledger {
  readonly destination: string;
  readonly epoch: string;
  readonly store: InMemoryLedgerStore;
  private readonly scope: LedgerScope;

  constructor(private readonly options: InMemoryLedgerOptions) {
    assertLedgerName('destination', options.destination);
    assertLedgerName('epoch', options.epoch);
    this.destination = options.destination;
    this.epoch = options.epoch;
    this.store = options.store ?? new InMemoryLedgerStore();
    this.scope = this.store.scope(this.destination, this.epoch);
  }

  async load(accountIds: readonly string[]): Promise<Map<string, Watermark>> {
    if (this.options.beforeOperation) await this.options.beforeOperation('load');
    const found = new Map<string, Watermark>();
    for (const accountId of accountIds) {
      this.store.requests.reads += 1;
      const watermark = this.scope.watermarks.get(accountId);
      if (watermark) found.set(accountId, watermark);
    }
    return found;
  }

  async parked(accountId: string, from: number, to: number, limit: number): Promise<ChangeRecord[]> {
    if (this.options.beforeOperation) await this.options.beforeOperation('parked');
    this.store.requests.reads += 1;
    const records = this.scope.parked.get(accountId) ?? new Map<number, ChangeRecord>();
    const found: ChangeRecord[] = [];
    // Small maps are scanned; long runs are walked version by version, as DynamoDB walks its sort key.
    if (records.size <= to - from + 1) {
      for (const record of records.values()) if (record.version >= from && record.version <= to) found.push(record);
      found.sort((a, b) => a.version - b.version);
      return found.slice(0, limit);
    }
    for (let version = from; version <= to && found.length < limit; version += 1) {
      const record = records.get(version);
      if (record) found.push(record);
    }
    return found;
  }

  // Not an async function: without a `beforeOperation` hook it answers at once, and an async function's frame and
  // promises are garbage the engine's benchmark would count against the engine (every account writes every batch).
  write(write: LedgerWrite): Promise<LedgerWriteResult> {
    const before = this.options.beforeOperation;
    if (before) return before('write').then(() => this.writeNow(write));
    try {
      return Promise.resolve(this.writeNow(write));
    } catch (error) {
      // As an async function would: a write over the limits is a rejected promise, not a throw.
      return Promise.reject(error);
    }
  }

  private writeNow(write: LedgerWrite): LedgerWriteResult {
    assertWithinLimit(write);
    const key = write.next.accountId;
    this.store.requests.writes += 1 + write.park.length + write.unpark.length;
    const current = this.scope.watermarks.get(key);
    if ((current?.revision ?? 0) !== write.expectedRevision) return 'conflict';
    if (write.fence !== undefined && current?.claim?.token !== write.fence) return 'conflict';
    this.scope.watermarks.set(key, write.next);
    if (write.park.length === 0 && write.unpark.length === 0) return 'committed';
    const records = this.scope.parked.get(key) ?? new Map<number, ChangeRecord>();
    for (const record of write.park) records.set(record.version, record);
    for (const version of write.unpark) records.delete(version);
    this.scope.parked.set(key, records);
    return 'committed';
  }

  async *waiting(after?: WaitingAccount): AsyncIterable<WaitingAccount> {
    if (this.options.beforeOperation) await this.options.beforeOperation('waiting');
    // The index's order: the wait's start, then the account (DynamoDB orders equal index keys by the table's key).
    const waiting = [...this.scope.watermarks.values()]
      .filter((watermark) => watermark.gapSince !== undefined)
      .map((watermark) => ({ accountId: watermark.accountId, since: watermark.gapSince as number }))
      .sort(indexOrder);
    for (const account of waiting) if (after === undefined || indexOrder(account, after) > 0) yield account;
  }

  async sweepPosition(): Promise<WaitingAccount | undefined> {
    if (this.options.beforeOperation) await this.options.beforeOperation('sweep-position');
    return this.scope.sweepPosition;
  }

  async saveSweepPosition(position: WaitingAccount | undefined): Promise<void> {
    if (this.options.beforeOperation) await this.options.beforeOperation('sweep-position');
    this.store.requests.writes += 1;
    this.scope.sweepPosition = position;
  }

  /** Every parked record of this destination and epoch, for assertions. */
  allParked(): ChangeRecord[] {
    return [...this.scope.parked.values()].flatMap((records) => [...records.values()]);
  }
}
