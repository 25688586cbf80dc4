import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ACCOUNTS_KEY } from '../shared/accounts/account';
import { decodeChangeRecord } from '../shared/change-record/decode';
import type { DeliveryMode, InOrderCommit } from '../shared/ordering/delivery-mode';
import type { ReceivedChange } from './recording-destination';
import type { StreamPayload } from './bridge/chaos';

/** The truth to verify against: what the table holds now, and every version its stream carried. */
export interface Truth {
  /** Final version of every account, from a consistent read of the table. */
  readonly finalVersions: ReadonlyMap<string, number>;
  /** Per account, per version, the balance of that version's new image, as captured from the table's stream. */
  readonly history: ReadonlyMap<string, ReadonlyMap<number, number | undefined>>;
}

export interface CaptureCheck {
  readonly accounts: number;
  /** Sum of final versions: how many changes the stream must carry. */
  readonly expected: number;
  readonly captured: number;
  /** Versions 1..final of some account that the stream never carried. */
  readonly missing: number;
  /** Stream records for a version above the account's final version, or for an account not in the table. */
  readonly unexpected: number;
  readonly complete: boolean;
}

export interface DestinationCheck {
  readonly name: string;
  readonly mode: DeliveryMode;
  readonly received: number;
  readonly healed: number;
  /** A version received again (allowed at least once; worth seeing). */
  readonly redelivered: number;
  /** every-version and in-order: versions never received. latest-state: accounts whose last version is not final. */
  readonly missing: number;
  /** latest-state: a version at or below one already received. in-order: anything but the next version. */
  readonly orderViolations: number;
  /** A version the table's history does not have. */
  readonly unexpected: number;
  /** A delivered image that differs from the history's (a wrong heal would show here). */
  readonly contentMismatches: number;
  /** every-version and in-order: versions dropped on purpose that the destination does not have (not `missing`). */
  readonly droppedAbsent: number;
  /** The first problems found, for a human to start from. */
  readonly samples: readonly string[];
}

const MAX_SAMPLES = 5;

/** Every account's current version, read back from the table itself (consistent scan), not from the workload. */
export async function readFinalVersions(client: DynamoDBClient, tableName: string): Promise<Map<string, number>> {
  const versions = new Map<string, number>();
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const output = await client.send(
      new ScanCommand({
        TableName: tableName,
        ConsistentRead: true,
        ProjectionExpression: '#id, #version',
        ExpressionAttributeNames: { '#id': ACCOUNTS_KEY, '#version': 'version' },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of output.Items ?? []) {
      const id = item[ACCOUNTS_KEY]?.S;
      const version = Number(item.version?.N);
      if (id !== undefined && Number.isSafeInteger(version)) versions.set(id, version);
    }
    startKey = output.LastEvaluatedKey;
  } while (startKey);
  return versions;
}

export function checkCapture(truth: Truth, captured: readonly { accountId: string; version: number }[]): CaptureCheck {
  const seen = new Map<string, Set<number>>();
  let unexpected = 0;
  for (const { accountId, version } of captured) {
    const final = truth.finalVersions.get(accountId);
    if (final === undefined || version > final) unexpected += 1;
    else getOrCreate(seen, accountId, () => new Set()).add(version);
  }
  let expected = 0;
  let missing = 0;
  for (const [accountId, final] of truth.finalVersions) {
    expected += final;
    missing += final - (seen.get(accountId)?.size ?? 0);
  }
  const accounts = truth.finalVersions.size;
  const complete = missing === 0 && unexpected === 0;
  return { accounts, expected, captured: captured.length, missing, unexpected, complete };
}

/**
 * Verifies one destination from what it received, never from engine counters: counters say what the engine
 * believes it did, this says what the destination ended up with.
 */
export function checkDestination(
  name: string,
  mode: DeliveryMode,
  received: readonly ReceivedChange[],
  truth: Truth,
  /** Per account, versions that never reached the stream on purpose (`--permanent-gap-rate`): not missing if absent. */
  dropped: ReadonlyMap<string, ReadonlySet<number>> = new Map(),
  /** in-order: the consumer's commit mode, which decides what a crash may make it deliver again. */
  commit: InOrderCommit = 'per-version',
): DestinationCheck {
  const samples: string[] = [];
  const note = (problem: string): void => {
    if (samples.length < MAX_SAMPLES) samples.push(problem);
  };
  const byAccount = new Map<string, ReceivedChange[]>();
  let unexpected = 0;
  let contentMismatches = 0;
  for (const change of received) {
    const versions = truth.history.get(change.accountId);
    if (!versions?.has(change.version)) {
      unexpected += 1;
      note(`${change.accountId} v${change.version} is not in the table's history`);
      continue;
    }
    if (versions.get(change.version) !== change.balance) {
      contentMismatches += 1;
      note(`${change.accountId} v${change.version}${change.healed ? ' (healed)' : ''} has balance ${change.balance}`);
    }
    getOrCreate(byAccount, change.accountId, () => []).push(change);
  }

  let missing = 0;
  let orderViolations = 0;
  let redelivered = 0;
  let droppedAbsent = 0;
  for (const [accountId, final] of truth.finalVersions) {
    const versions = (byAccount.get(accountId) ?? []).map((change) => change.version);
    const result = checkAccount(mode, versions, final, dropped.get(accountId), commit);
    missing += result.missing;
    orderViolations += result.orderViolations;
    redelivered += result.redelivered;
    droppedAbsent += result.droppedAbsent;
    if (result.missing > 0) note(`${accountId}: ${result.missing} missing (final v${final}, got [${brief(versions)}])`);
    if (result.orderViolations > 0) note(`${accountId}: ${result.orderViolations} out of order: [${brief(versions)}]`);
  }
  const healed = received.filter((change) => change.healed).length;
  return {
    name,
    mode,
    received: received.length,
    healed,
    redelivered,
    missing,
    orderViolations,
    unexpected,
    contentMismatches,
    droppedAbsent,
    samples,
  };
}

interface AccountResult {
  missing: number;
  orderViolations: number;
  redelivered: number;
  /** Versions of `absent` the destination does not have. */
  droppedAbsent: number;
}

/**
 * `versions`: what the destination received for one account, in arrival order. `absent`: versions that never reached
 * the stream on purpose (`--permanent-gap-rate`); they may be missing (counted in `droppedAbsent`, not in `missing`),
 * and in-order may go straight past them, but nothing else changes: a version that is there must still come in order.
 */
export function checkAccount(
  mode: DeliveryMode,
  versions: readonly number[],
  final: number,
  absent: ReadonlySet<number> = new Set(),
  commit: InOrderCommit = 'per-version',
): AccountResult {
  const distinct = new Set(versions);
  const redelivered = versions.length - distinct.size;
  let missing = 0;
  let droppedAbsent = 0;
  for (let version = 1; version <= final; version += 1) {
    if (distinct.has(version)) continue;
    if (absent.has(version)) droppedAbsent += 1;
    else missing += 1;
  }
  switch (mode) {
    case 'every-version':
      // Any order is fine; each version 1..final must be there.
      return { missing, orderViolations: 0, redelivered, droppedAbsent };
    case 'latest-state': {
      // Only the end state counts, but the index must never go back to an older version after a newer one.
      let orderViolations = 0;
      let highest = 0;
      for (const version of versions) {
        if (version <= highest) orderViolations += 1;
        highest = Math.max(highest, version);
      }
      return { missing: versions.at(-1) === final ? 0 : 1, orderViolations, redelivered, droppedAbsent: 0 };
    }
    case 'in-order':
      return { missing, orderViolations: inOrderViolations(versions, absent, commit), redelivered, droppedAbsent };
  }
}

/**
 * In-order as a destination sees it. Each version's first delivery comes exactly after the one before it (past the
 * versions allowed to be absent). A repeat is a redelivery after a crash, and the commit mode says which repeat:
 * `per-version` commits each version before the next, so only the version just delivered can come again;
 * `per-batch` commits a run once, so a crash before that commit replays the run from its start: any version already
 * delivered may come again, and the versions after it follow as repeats until the run passes the old top.
 */
export function inOrderViolations(versions: readonly number[], absent: ReadonlySet<number>, commit: InOrderCommit): number {
  let violations = 0;
  let top = 0;
  let previous = 0;
  const seen = new Set<number>();
  for (const version of versions) {
    if (seen.has(version)) {
      if (commit === 'per-version' && version !== previous) violations += 1;
    } else if (version > top && skipsOnlyAbsent(top, version, absent)) {
      top = version;
    } else {
      violations += 1;
      if (version > top) top = version;
    }
    seen.add(version);
    previous = version;
  }
  return violations;
}

/** True when every version strictly between `from` and `to` may be absent. */
function skipsOnlyAbsent(from: number, to: number, absent: ReadonlySet<number>): boolean {
  for (let version = from + 1; version < to; version += 1) if (!absent.has(version)) return false;
  return true;
}

/** True when the destination got everything, in the order its mode promises. */
export function destinationOk(check: DestinationCheck): boolean {
  return check.missing === 0 && check.orderViolations === 0 && check.unexpected === 0 && check.contentMismatches === 0;
}

function brief(versions: readonly number[]): string {
  return versions.length <= 12 ? versions.join(',') : `${versions.slice(0, 12).join(',')},…`;
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

/** Decodes every captured change once, through the same decoder the consumers use, into the history to verify. */
export function historyOf(
  payloads: readonly StreamPayload[],
  finalVersions: ReadonlyMap<string, number>,
  tableName: string,
): Truth & { readonly captured: { accountId: string; version: number }[] } {
  const history = new Map<string, Map<number, number | undefined>>();
  const captured: { accountId: string; version: number }[] = [];
  for (const { data } of payloads) {
    const decoded = decodeChangeRecord({ data, sequenceNumber: '0', shardId: 'capture' }, { tableName });
    if (!decoded.ok) continue;
    const { accountId, version, newImage } = decoded.record;
    captured.push({ accountId, version });
    let versions = history.get(accountId);
    if (!versions) history.set(accountId, (versions = new Map()));
    versions.set(version, newImage?.balance);
  }
  return { finalVersions, history, captured };
}
