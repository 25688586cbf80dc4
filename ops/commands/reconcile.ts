import { DESTINATION_MODES } from '../../shared/config/consumer-config';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client } from '@opensearch-project/opensearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws-v3';
import { auditObjectKey } from '../../consumers/audit/audit-object';
import { createSearchRuntime } from '../../consumers/search/handler';
import { DESTINATION_NAMES, type DestinationName } from '../../infra/config/pipeline-config';
import type { AccountImage } from '../../shared/accounts/account';
import { mapLimited } from '../../shared/async/limited';
import { readConsumerConfig } from '../../shared/config/consumer-config';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { Delivery } from '../../shared/ordering/ports';
import type { CommandIO } from '../io';
import type { PipelineTarget } from '../target';
import { describeError, formatTable, ledgerOf, loadWatermarks, scanAccounts, targetSummary, type ScannedAccount } from './status';

export interface ReconcileOptions {
  /** Only this destination. @default all */
  readonly destination?: DestinationName;
  /** Also read the destinations themselves (audit: the current version's object; search: the document's version). */
  readonly contents?: boolean;
  /** Re-deliver the current state of every account found out of sync to `latest-state` destinations (search). */
  readonly repair?: boolean;
  /** Parallel scan segments. @default 4 */
  readonly segments?: number;
}

const MODES = DESTINATION_MODES;
/** Accounts listed per kind of problem in the human output (JSON lists them all). */
const SHOWN = 20;
const REPAIR_CHUNK = 500;

interface Lagging { readonly accountId: string; readonly version: number; readonly watermark: number }
interface Missing { readonly accountId: string; readonly version: number }
/** `found`: the version the destination holds (audit: the current version's object exists), null for none. */
interface Mismatched { readonly accountId: string; readonly version: number; readonly found: number | null }
interface Repair { accounts: number; delivered: number; alreadyCurrent: number; stale: number; failed: number; failures: { accountId: string; detail: string }[] }

interface DestinationReconcile {
  mode: DeliveryMode;
  epoch: string;
  accounts: number;
  lagging: Lagging[];
  missing: Missing[];
  contents: { checked: boolean; note?: string; mismatched: Mismatched[] } | null;
  repair: Repair | null;
  error: string | null;
  inSync: boolean;
}

/** Reads what a destination holds of an account's current version. */
type ContentReader = { read(account: ScannedAccount): Promise<number | null>; close(): void };

/**
 * `fanout reconcile`: every account of the table against each destination's watermark (lagging: below the table's
 * version; missing: none at all), with `contents` against the destination itself, and with `repair` the current
 * state re-delivered to search (external versioning makes that safe). Exit code 0 when everything matches or was
 * repaired, 1 otherwise.
 */
export async function reconcile(target: PipelineTarget, options: ReconcileOptions, io: CommandIO): Promise<number> {
  const names = options.destination ? [options.destination] : DESTINATION_NAMES;
  if (options.repair && options.destination && MODES[options.destination] !== 'latest-state') {
    io.err(
      `reconcile --repair: refused for ${options.destination} (${MODES[options.destination]}): only latest-state destinations (search) can be ` +
        `repaired by re-delivering an account's current state; ${options.destination} needs every version` +
        `${MODES[options.destination] === 'in-order' ? ' in order' : ''}, so use a replay or a redrive instead`,
    );
    return 1;
  }
  const repairing = new Set(options.repair ? names.filter((name) => MODES[name] === 'latest-state') : []);
  if (options.repair && repairing.size < names.length) {
    io.err(`reconcile --repair: only ${[...repairing].join(', ')} (latest-state) is repaired; ${names.filter((n) => !repairing.has(n)).join(', ')} only checked`);
  }

  const report = {} as Record<DestinationName, DestinationReconcile>;
  const readers = new Map<DestinationName, ContentReader>();
  for (const name of names) {
    report[name] = { mode: MODES[name], epoch: target.destinations[name].epoch, accounts: 0, lagging: [], missing: [], contents: null, repair: null, error: null, inSync: false };
    if (!options.contents) continue;
    if (name === 'fraud') {
      report[name].contents = { checked: false, note: 'an EventBridge bus keeps nothing readable: only the ledger was compared', mismatched: [] };
      continue;
    }
    try {
      readers.set(name, await contentReader(target, name));
      report[name].contents = { checked: true, mismatched: [] };
    } catch (error) {
      report[name].error = `contents: ${describeError(error)}`;
    }
  }
  const toRepair = new Map<string, AccountImage>();

  let scanned = 0;
  try {
    scanned = await scanAccounts(target, {
      segments: options.segments ?? 4,
      items: repairing.size > 0,
      onProgress: (done, total) => io.progress('scan', done, total),
      onPage: async (page) => {
        const ids = page.map((account) => account.accountId);
        await Promise.all(
          names.map(async (name) => {
            const entry = report[name];
            if (entry.error) return;
            try {
              const watermarks = await loadWatermarks(ledgerOf(target, name), ids);
              const reader = readers.get(name);
              const found = reader ? await mapLimited(page, 16, (account) => reader.read(account)) : [];
              page.forEach((account, i) => {
                const { accountId, version } = account;
                const watermark = watermarks.get(accountId);
                const mismatched = reader !== undefined && found[i] !== version;
                if (!watermark) entry.missing.push({ accountId, version });
                else if (watermark.version < version) entry.lagging.push({ accountId, version, watermark: watermark.version });
                if (mismatched) entry.contents?.mismatched.push({ accountId, version, found: found[i] ?? null });
                const bad = !watermark || watermark.version < version || mismatched;
                if (bad && repairing.has(name) && account.item) toRepair.set(accountId, account.item);
              });
              entry.accounts += page.length;
            } catch (error) {
              entry.error = describeError(error);
            }
          }),
        );
      },
    });
  } catch (error) {
    for (const name of names) report[name].error ??= `table ${target.accountsTable}: ${describeError(error)}`;
  } finally {
    for (const reader of readers.values()) reader.close();
  }

  for (const name of repairing) {
    if (report[name].error || toRepair.size === 0) continue;
    try {
      report[name].repair = await repairSearch(target, name, [...toRepair.values()]);
    } catch (error) {
      report[name].error = `repair: ${describeError(error)}`;
    }
  }
  for (const name of names) {
    const entry = report[name];
    const problems = entry.lagging.length + entry.missing.length + (entry.contents?.mismatched.length ?? 0);
    entry.inSync = entry.error === null && (problems === 0 || (entry.repair !== null && entry.repair.failed === 0));
  }
  const ok = names.every((name) => report[name].inSync);
  const ordered = Object.fromEntries(names.map((name) => [name, report[name]]));
  if (io.json) {
    io.out(JSON.stringify({ target: targetSummary(target), accounts: scanned, contents: options.contents ?? false, repair: options.repair ?? false, ok, destinations: ordered }, null, 2));
  } else {
    printReport(io, target, scanned, options, names, report, ok);
  }
  return ok ? 0 : 1;
}

function printReport(
  io: CommandIO,
  target: PipelineTarget,
  scanned: number,
  options: ReconcileOptions,
  names: readonly DestinationName[],
  report: Record<DestinationName, DestinationReconcile>,
  ok: boolean,
): void {
  io.out(`target   ${target.description}`);
  io.out(`scanned  ${scanned} accounts in ${target.accountsTable} (${options.segments ?? 4} segments), ledger ${target.ledgerTable}`);
  io.out('');
  const rows = [['destination', 'mode', 'epoch', 'accounts', 'lagging', 'missing', 'contents', 'result']];
  for (const name of names) {
    const entry = report[name];
    const contents = entry.contents === null ? '-' : entry.contents.checked ? `${entry.contents.mismatched.length} mismatched` : 'not readable';
    const result = entry.error ? 'UNREADABLE' : entry.repair && !entry.inSync ? 'REPAIR FAILED' : entry.repair ? 'REPAIRED' : entry.inSync ? 'in sync' : 'OUT OF SYNC';
    rows.push([name, entry.mode, entry.epoch, String(entry.accounts), String(entry.lagging.length), String(entry.missing.length), contents, result]);
  }
  for (const line of formatTable(rows, new Set([3, 4, 5]))) io.out(line);
  for (const name of names) {
    const entry = report[name];
    const list = (title: string, lines: string[]): void => {
      if (lines.length === 0) return;
      io.out('');
      io.out(`${name}: ${lines.length} ${title}`);
      for (const line of lines.slice(0, SHOWN)) io.out(`  ${line}`);
      if (lines.length > SHOWN) io.out(`  … and ${lines.length - SHOWN} more (--json lists them all)`);
    };
    list('lagging (watermark below the table)', entry.lagging.map((a) => `${a.accountId}  table v${a.version}  watermark v${a.watermark}`));
    list('missing (no watermark)', entry.missing.map((a) => `${a.accountId}  table v${a.version}`));
    const holds = name === 'audit' ? (found: number | null) => (found === null ? 'no object' : 'object') : (found: number | null) => (found === null ? 'no document' : `document v${found}`);
    list('mismatched in the destination', (entry.contents?.mismatched ?? []).map((a) => `${a.accountId}  table v${a.version}  ${holds(a.found)}`));
    if (entry.contents?.note) io.out(`${name}: contents not checked: ${entry.contents.note}`);
    if (entry.repair) {
      const r = entry.repair;
      io.out(`${name}: repair re-delivered ${r.accounts} accounts: ${r.delivered} delivered, ${r.alreadyCurrent} already current, ${r.stale} stale, ${r.failed} failed`);
      for (const failure of r.failures.slice(0, SHOWN)) io.out(`  ${failure.accountId}  ${failure.detail}`);
    }
    if (entry.error) io.err(`${name}: unreadable: ${entry.error}`);
  }
  io.out('');
  io.out(ok ? 'RESULT: OK (every destination matches the table)' : 'RESULT: OUT OF SYNC');
}

/** What the destination holds of each account: audit by HeadObject, search by GET of the document. */
async function contentReader(target: PipelineTarget, name: 'audit' | 'search'): Promise<ContentReader> {
  const env = await target.environment(name);
  const region = await target.dynamodb.config.region();
  const localCredentials =
    target.kind === 'local' && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } }
      : {};
  if (name === 'audit') {
    const bucket = env.AUDIT_BUCKET_NAME;
    if (!bucket) throw new Error('the audit function environment has no AUDIT_BUCKET_NAME');
    const prefix = env.AUDIT_KEY_PREFIX ?? 'changes/';
    const s3 = new S3Client({
      region,
      ...localCredentials,
      ...(env.AWS_ENDPOINT_URL_S3 ? { endpoint: env.AWS_ENDPOINT_URL_S3 } : {}),
      forcePathStyle: env.S3_FORCE_PATH_STYLE === 'true',
    });
    return {
      async read({ accountId, version }) {
        try {
          await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: auditObjectKey(accountId, version, prefix) }));
          return version;
        } catch (error) {
          const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (status === 404 || (error as Error).name === 'NotFound') return null;
          throw error;
        }
      },
      close: () => s3.destroy(),
    };
  }
  const endpoint = env.SEARCH_ENDPOINT;
  if (!endpoint) throw new Error('the search function environment has no SEARCH_ENDPOINT');
  const index = env.SEARCH_INDEX ?? 'accounts';
  const signer =
    (env.SEARCH_AUTH ?? 'sigv4') === 'sigv4'
      ? AwsSigv4Signer({ region: env.SEARCH_REGION ?? region, service: env.SEARCH_SIGV4_SERVICE === 'aoss' ? 'aoss' : 'es', getCredentials: defaultProvider() })
      : {};
  const client = new Client({ ...signer, node: endpoint, maxRetries: 2, requestTimeout: 10_000 });
  return {
    async read({ accountId }) {
      const response = await client.get({ index, id: accountId, _source: false }, { ignore: [404] });
      const body = response.body as { found?: boolean; _version?: number };
      return response.statusCode === 404 || !body.found ? null : (body._version ?? null);
    },
    close: () => void client.close(),
  };
}

/** Re-delivers each item as a synthetic change of its current version through the search adapter of the function environment. */
async function repairSearch(target: PipelineTarget, name: DestinationName, items: readonly AccountImage[]): Promise<Repair> {
  const region = await target.dynamodb.config.region();
  const env = { AWS_REGION: region, ...(await target.environment(name)) };
  const config = readConsumerConfig('search', env);
  const noTelemetry = { invocation: () => undefined, batch: () => undefined, batchError: () => undefined };
  const runtime = createSearchRuntime(env, { telemetry: noTelemetry });
  const repair: Repair = { accounts: items.length, delivered: 0, alreadyCurrent: 0, stale: 0, failed: 0, failures: [] };
  try {
    for (let start = 0; start < items.length; start += REPAIR_CHUNK) {
      const chunk = items.slice(start, start + REPAIR_CHUNK);
      const deliveries: Delivery[] = chunk.map((item) => ({
        record: {
          accountId: item.account_id,
          version: item.version,
          previousVersion: item.version - 1,
          kind: item.version === 1 ? 'INSERT' : 'MODIFY',
          newImage: item,
          createdAtMicros: Date.now() * 1000,
          eventId: `reconcile-${item.account_id}-${item.version}`,
          sequenceNumber: 'reconcile',
          shardId: 'reconcile',
        },
        healed: false,
        replay: config.epoch.replay,
        epoch: target.destinations[name].epoch,
      }));
      const results = await runtime.destination.deliver(deliveries);
      results.forEach((result, i) => {
        if (result.status === 'delivered') repair.delivered += 1;
        else if (result.status === 'duplicate') repair.alreadyCurrent += 1;
        else if (result.status === 'stale') repair.stale += 1;
        else {
          repair.failed += 1;
          repair.failures.push({ accountId: chunk[i]?.account_id ?? '?', detail: `${result.reason}: ${result.detail}` });
        }
      });
    }
  } finally {
    runtime.close();
  }
  return repair;
}
