import { mapLimited } from '../../shared/async/limited';
import type { AccountImage } from '../../shared/accounts/account';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { formatVersions } from '../../shared/ordering/version-ranges';
import type { Watermark } from '../../shared/ordering/watermark';
import type { CommandIO } from '../io';
import { runtimeOf, type AnyRuntimePlugin } from '../plugin-runtimes';
import { destinationOf, modeOf, selectDestinations, type PipelineTarget } from '../target';
import { describeError, formatTable, targetSummary } from './format';
import { ledgerOf, loadWatermarks, owedUnder, scanAccounts, versionsMissing } from './ledger-scan';
import { contentReader, repairLatestState, type ContentReader, type Repair } from './reconcile-contents';
import { shownAccount } from '../account-text';

export interface ReconcileOptions {
  /** Only this destination (a built-in or a plug-in of the target). @default all */
  readonly destination?: string;
  /**
   * Also read the destinations themselves: audit (the current version's object), search (the document's version), a
   * plug-in through its runtime half's `reconcileReader`. Destinations without a reader say so and are compared by
   * the ledger only.
   */
  readonly contents?: boolean;
  /** Re-deliver the current state of every account found out of sync to `latest-state` destinations (search). */
  readonly repair?: boolean;
  /** Parallel scan segments. @default 4 */
  readonly segments?: number;
  /** Runtime halves of plug-ins `fanout` does not ship (`destinations/runtime-registry.ts` has the others), by name. */
  readonly runtimes?: Readonly<Record<string, AnyRuntimePlugin>>;
}

/** Accounts listed per kind of problem in the human output (JSON lists them all). */
const SHOWN = 20;

/** `owed`: `every-version` versions its watermark passed that the destination does not hold (dead-lettered, gap timed out). */
interface Lagging { readonly accountId: string; readonly version: number; readonly watermark: number; readonly owed?: string }
interface Missing { readonly accountId: string; readonly version: number }
/** `found`: the version the destination holds (audit: the current version's object exists), null for none. */
interface Mismatched { readonly accountId: string; readonly version: number; readonly found: number | null }

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

/**
 * `fanout reconcile`: every account of the table against each destination's watermark (lagging: below the table's
 * version; missing: none at all), with `contents` against the destination itself, and with `repair` the current
 * state re-delivered to the latest-state destinations (search: external versioning makes that safe). Exit code 0 when
 * everything matches or was repaired, 1 otherwise.
 */
export async function reconcile(target: PipelineTarget, options: ReconcileOptions, io: CommandIO): Promise<number> {
  const names = selectDestinations(target, options.destination);
  const modes = new Map(Object.keys(target.destinations).map((name) => [name, modeOf(target, name)]));
  const modeOfName = (name: string): DeliveryMode => modes.get(name) as DeliveryMode;
  const latest = [...modes].filter(([, mode]) => mode === 'latest-state').map(([name]) => name);
  if (options.repair && options.destination && modeOfName(options.destination) !== 'latest-state') {
    const mode = modeOfName(options.destination);
    io.err(
      `reconcile --repair: refused for ${options.destination} (${mode}): only latest-state destinations (${latest.join(', ')}) can be ` +
        `repaired by re-delivering an account's current state; ${options.destination} needs every version` +
        `${mode === 'in-order' ? ' in order' : ''}, so use a replay or a redrive instead`,
    );
    // A request refused, not a check that failed: the usage exit code.
    return 2;
  }
  const repairing = new Map<string, AnyRuntimePlugin | undefined>();
  if (options.repair) for (const name of names.filter((n) => modeOfName(n) === 'latest-state')) repairing.set(name, await runtimeOf(name, options.runtimes));
  if (options.repair && repairing.size < names.length) {
    io.err(`reconcile --repair: only ${[...repairing.keys()].join(', ')} (latest-state) is repaired; ${names.filter((n) => !repairing.has(n)).join(', ')} only checked`);
  }

  const report: Record<string, DestinationReconcile> = {};
  const readers = new Map<string, ContentReader>();
  for (const name of names) {
    report[name] = { mode: modeOfName(name), epoch: destinationOf(target, name).epoch, accounts: 0, lagging: [], missing: [], contents: null, repair: null, error: null, inSync: false };
    if (!options.contents) continue;
    const entry = report[name];
    try {
      const found = await contentReader(target, name, options.runtimes);
      if ('note' in found) {
        entry.contents = { checked: false, note: found.note, mismatched: [] };
      } else {
        readers.set(name, found.reader);
        entry.contents = { checked: true, mismatched: [] };
      }
    } catch (error) {
      entry.error = `contents: ${describeError(error)}`;
    }
  }
  const toRepair = new Map<string, Map<string, AccountImage>>([...repairing.keys()].map((name) => [name, new Map()]));

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
            const entry = report[name] as DestinationReconcile;
            if (entry.error) return;
            try {
              const watermarks = await loadWatermarks(ledgerOf(target, name), ids);
              const reader = readers.get(name);
              const found = reader ? await mapLimited(page, 16, (account) => reader.read(account)) : [];
              page.forEach((account, i) => {
                const { accountId, version } = account;
                const watermark = watermarks.get(accountId);
                const mismatched = reader !== undefined && found[i] !== version;
                const lacking = versionsMissing(watermark, version, entry.mode) > 0;
                if (!watermark) entry.missing.push({ accountId, version });
                else if (lacking) entry.lagging.push(laggingOf(accountId, version, watermark, entry.mode));
                if (mismatched) entry.contents?.mismatched.push({ accountId, version, found: found[i] ?? null });
                const bad = lacking || mismatched;
                if (bad && account.item) toRepair.get(name)?.set(accountId, account.item);
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
    for (const name of names) (report[name] as DestinationReconcile).error ??= `table ${target.accountsTable}: ${describeError(error)}`;
  } finally {
    for (const reader of readers.values()) reader.close();
  }

  for (const [name, plugin] of repairing) {
    const entry = report[name] as DestinationReconcile;
    const items = [...(toRepair.get(name)?.values() ?? [])];
    if (entry.error || items.length === 0) continue;
    try {
      if (!plugin) throw new Error(`no runtime half of ${name} is known to fanout (destinations/runtime-registry.ts), so it cannot deliver to it`);
      entry.repair = await repairLatestState(target, name, plugin, items);
    } catch (error) {
      entry.error = `repair: ${describeError(error)}`;
    }
  }
  for (const entry of Object.values(report)) {
    const problems = entry.lagging.length + entry.missing.length + (entry.contents?.mismatched.length ?? 0);
    entry.inSync = entry.error === null && (problems === 0 || (entry.repair !== null && entry.repair.failed === 0));
  }
  const ok = names.every((name) => report[name]?.inSync === true);
  if (io.json) {
    io.out(JSON.stringify({ target: targetSummary(target), accounts: scanned, contents: options.contents ?? false, repair: options.repair ?? false, ok, destinations: report }, null, 2));
  } else {
    printReport(io, target, scanned, options, names, report, ok);
  }
  return ok ? 0 : 1;
}

function laggingOf(accountId: string, version: number, watermark: Watermark, mode: DeliveryMode): Lagging {
  const owed = mode === 'every-version' ? owedUnder(watermark, version) : [];
  return { accountId, version, watermark: watermark.version, ...(owed.length > 0 ? { owed: formatVersions(owed) } : {}) };
}

function printReport(
  io: CommandIO,
  target: PipelineTarget,
  scanned: number,
  options: ReconcileOptions,
  names: readonly string[],
  report: Readonly<Record<string, DestinationReconcile>>,
  ok: boolean,
): void {
  io.out(`target   ${target.description}`);
  io.out(`scanned  ${scanned} accounts in ${target.accountsTable} (${options.segments ?? 4} segments), ledger ${target.ledgerTable}`);
  io.out('');
  const rows = [['destination', 'mode', 'epoch', 'accounts', 'lagging', 'missing', 'contents', 'result']];
  for (const name of names) {
    const entry = report[name] as DestinationReconcile;
    const contents = entry.contents === null ? '-' : entry.contents.checked ? `${entry.contents.mismatched.length} mismatched` : 'not readable';
    const result = entry.error ? 'UNREADABLE' : entry.repair && !entry.inSync ? 'REPAIR FAILED' : entry.repair ? 'REPAIRED' : entry.inSync ? 'in sync' : 'OUT OF SYNC';
    rows.push([name, entry.mode, entry.epoch, String(entry.accounts), String(entry.lagging.length), String(entry.missing.length), contents, result]);
  }
  for (const line of formatTable(rows, new Set([3, 4, 5]))) io.out(line);
  for (const name of names) {
    const entry = report[name] as DestinationReconcile;
    const list = (title: string, lines: string[]): void => {
      if (lines.length === 0) return;
      io.out('');
      io.out(`${name}: ${lines.length} ${title}`);
      for (const line of lines.slice(0, SHOWN)) io.out(`  ${line}`);
      if (lines.length > SHOWN) io.out(`  … and ${lines.length - SHOWN} more (--json lists them all)`);
    };
    const owes = (owed: string | undefined): string => (owed === undefined ? '' : `  owed v${owed}`);
    list('lagging (watermark below the table, or versions owed)', entry.lagging.map((a) => `${shownAccount(a.accountId)}  table v${a.version}  watermark v${a.watermark}${owes(a.owed)}`));
    list('missing (no watermark)', entry.missing.map((a) => `${shownAccount(a.accountId)}  table v${a.version}`));
    const holds = (found: number | null): string => (found === null ? 'holds nothing' : `holds v${found}`);
    list('mismatched in the destination', (entry.contents?.mismatched ?? []).map((a) => `${shownAccount(a.accountId)}  table v${a.version}  ${holds(a.found)}`));
    if (entry.contents?.note) io.out(`${name}: contents not checked: ${entry.contents.note}`);
    if (entry.repair) {
      const r = entry.repair;
      io.out(`${name}: repair re-delivered ${r.accounts} accounts: ${r.delivered} delivered, ${r.alreadyCurrent} already current, ${r.stale} stale, ${r.failed} failed`);
      for (const failure of r.failures.slice(0, SHOWN)) io.out(`  ${shownAccount(failure.accountId)}  ${failure.detail}`);
    }
    if (entry.error) io.err(`${name}: unreadable: ${entry.error}`);
  }
  io.out('');
  io.out(ok ? 'RESULT: OK (every destination matches the table)' : 'RESULT: OUT OF SYNC');
}
