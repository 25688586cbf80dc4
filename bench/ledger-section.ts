import type { RunningDynamoDBLocal } from '../local/emulators/dynamodb-local';
import { VARIANTS } from './engine-throughput';
import { table } from './format';
import { CONTENDERS, measureLedgerCost, type ContenderCost } from './ledger-cost';
import { ledgerWorkload, round } from './workloads';

/*
 * Bench (b): ledger requests per record on DynamoDB Local, the engine's modes against a naive conditional update and
 * Powertools idempotency, with the goal's verdict, as `npm run bench` prints it and as `results.json` keeps it. The
 * contenders and the counting are `ledger-cost.ts`.
 */

/** Ledger writes per record the issue asks of every mode at its default settings, on established accounts. */
const LEDGER_GOAL = { hot: 0.15, cold: 1.0 } as const;

function ledgerJson(name: 'hot' | 'cold', results: Record<string, ContenderCost>) {
  const get = (key: string) => results[key] as ContenderCost;
  const defaults = VARIANTS.filter((v) => v.isDefault).map((v) => CONTENDERS.find((c) => c.label === `engine ${v.label}`)?.key ?? '');
  const worstKey = defaults.reduce((a, b) => (get(b).writeRequestsPerRecord > get(a).writeRequestsPerRecord ? b : a));
  const w = (key: string) => get(key).writeRequestsPerRecord;
  const engineKeys = CONTENDERS.filter((c) => c.key.startsWith('engine')).map((c) => c.key);
  const ratio = (a: number, b: number) => (b === 0 ? null : round(a / b, 2));
  const label = (key: string) => get(key).label.replace(/^engine /, '');
  const missed = defaults.filter((key) => w(key) > LEDGER_GOAL[name]).map(label);
  return {
    engine: w(worstKey),
    engineWorstMode: label(worstKey),
    ...Object.fromEntries(engineKeys.map((key) => [key, w(key)])),
    naive: w('naive'),
    powertools: w('powertools'),
    // The same contenders over the accounts' first batches: an in-order account's first claimed batches claim its home.
    newAccounts: Object.fromEntries([...engineKeys, 'naive', 'powertools'].map((key) => [key, get(key).newAccounts.writeRequestsPerRecord])),
    powertoolsOverEngine: Object.fromEntries(engineKeys.map((key) => [key, ratio(w('powertools'), w(key))])),
    naiveOverEngine: Object.fromEntries(engineKeys.map((key) => [key, ratio(w('naive'), w(key))])),
    goal: { maxWritesPerRecord: LEDGER_GOAL[name], of: 'every mode at its default settings, established accounts', met: missed.length === 0, missedBy: missed },
    detail: results,
  };
}

export async function ledgerSection(dynamodbStarting: Promise<RunningDynamoDBLocal>, log: (line: string) => void) {
  const workloads = [
    ledgerWorkload('hot', { accounts: 10, batches: 20, batchSize: 100, seed: 7 }),
    ledgerWorkload('cold', { accounts: 100, batches: 20, batchSize: 100, seed: 11 }),
  ];
  log('\n(b) Ledger cost on DynamoDB Local');
  for (const workload of workloads) log(`    ${workload.name}: ${workload.description}`);
  const dynamodb = await dynamodbStarting;
  const results = await measureLedgerCost({ endpoint: dynamodb.endpoint, workloads, log });
  const all = Object.values(results).flatMap((perContender) => Object.values(perContender));
  const reported = all.reduce((sum, r) => sum + r.counts.capacityReported, 0);
  const missing = all.reduce((sum, r) => sum + r.counts.capacityMissing, 0);
  const capacityNote =
    missing === 0
      ? `DynamoDB Local returned ConsumedCapacity on all ${reported} capacity-aware responses`
      : `DynamoDB Local returned ConsumedCapacity on ${reported} and omitted it on ${missing} capacity-aware responses; write units reported only where every response carried it`;
  const json: Record<string, unknown> = {};
  for (const workload of workloads) {
    const perContender = results[workload.name] ?? {};
    log(`\n${workload.name}: ${workload.description}`);
    log(
      table(
        ['contender', 'writes/rec', 'new accounts', 'reads/rec', 'requests/rec', 'WCU/rec', 'RCU/rec', 'requests by command'],
        Object.values(perContender).map((r) => [
          r.label,
          r.writeRequestsPerRecord,
          r.newAccounts.writeRequestsPerRecord,
          r.readRequestsPerRecord,
          r.requestsPerRecord,
          r.writeUnitsPerRecord,
          r.readUnitsPerRecord,
          Object.entries(r.counts.byCommand)
            .map(([command, n]) => `${command.replace(/Command$/, '')} ${n}`)
            .join(', '),
        ]),
      ),
    );
    log(`writes/rec etc.: the ${workload.window} batches after each account's first ${workload.window} (established accounts); new accounts: writes/rec over those first ${workload.window}`);
    const section = ledgerJson(workload.name, perContender);
    const goal = section.goal;
    log(`worst default engine mode: ${section.engineWorstMode} ${section.engine} writes/rec (goal ≤ ${goal.maxWritesPerRecord}: ${goal.met ? 'met' : `missed by ${goal.missedBy.join(', ')}`}); powertools/engine writes: ${Object.entries(section.powertoolsOverEngine).map(([k, v]) => `${k} ${v}×`).join(', ')}`);
    json[workload.name] = { workload: workload.description, ...section };
  }
  log(`\n${capacityNote}`);
  return {
    unit: 'item-level DynamoDB write requests per input record (BatchWriteItem counts its items, TransactWriteItems its items)',
    method:
      'AWS SDK middleware on each contender\'s own DynamoDBClient: at the initialize step it counts commands by name, item-level writes and reads, and adds ReturnConsumedCapacity: TOTAL; at the deserialize step it counts HTTP attempts. Fresh table per contender and workload; naive and powertools process each account\'s records in order, accounts concurrently.',
    consumedCapacity: capacityNote,
    ...json,
  };
}
