import { join } from 'node:path';
import { chartLibrary } from '../../local/report/report-html';
import { writeReportPage } from '../../local/report/write-report';
import type { CommandIO } from '../io';
import { buildStatusReportData, MAX_POINTS, thinPoints, type WatchPoint } from '../status-report';
import type { PipelineTarget } from '../target';
import { describeError } from './format';
import { deadLetterReasons } from './dead-letter-reasons';
import { collectStatus, printStatus, statusExitCode, type StatusSnapshot } from './status';

/** Where `fanout status --watch` writes `report.html` and `report.json` (beside npm start's, not over them). */
export const WATCH_REPORT_DIR = join('.ordered-fanout', 'status');

export interface WatchOptions {
  readonly destination?: string;
  /** Seconds from the start of one snapshot to the start of the next (a slow scan pushes the next one back). */
  readonly intervalSeconds: number;
  /** Stop after this many snapshots. @default until `signal` aborts (Ctrl-C) */
  readonly iterations?: number;
  /** @default WATCH_REPORT_DIR */
  readonly reportDir?: string;
  /** Ends the watch after the snapshot in progress; the report is written then. */
  readonly signal?: AbortSignal;
  /** Clear the terminal before each snapshot (an interactive terminal). @default false */
  readonly redraw?: boolean;
  /** The command line, for the report's footer. */
  readonly command?: string;
  /** Called after each snapshot is printed and the report written (tests). */
  readonly onSnapshot?: (point: WatchPoint, index: number) => Promise<void> | void;
}

/**
 * `fanout status --watch`: the status again every interval until Ctrl-C (or `iterations`), and after every snapshot
 * `report.html`, rewritten, so it is current when the watch ends however it ends. Exit code as `status`, from the last
 * snapshot.
 */
export async function statusWatch(target: PipelineTarget, options: WatchOptions, io: CommandIO): Promise<number> {
  if (!(options.intervalSeconds > 0)) throw new RangeError(`--interval must be a positive number of seconds, got ${options.intervalSeconds}`);
  const dir = options.reportDir ?? WATCH_REPORT_DIR;
  const library = chartLibrary();
  let points: WatchPoint[] = [];
  let last: StatusSnapshot | undefined;
  let html = '';
  for (let index = 0; options.iterations === undefined || index < options.iterations; index += 1) {
    if (options.signal?.aborted) break;
    const started = Date.now();
    const snapshot = await collectStatus(target, options.destination === undefined ? {} : { destination: options.destination });
    const point: WatchPoint = { snapshot, deadLetterReasons: await reasonsOf(target, snapshot, points[points.length - 1]) };
    points.push(point);
    // Keep memory bounded on a long watch: thinned points still give the right rates (they come from running totals).
    if (points.length > 2 * MAX_POINTS) points = thinPoints(points, MAX_POINTS);
    last = snapshot;

    if (io.json) {
      io.out(JSON.stringify({ ...snapshot, deadLetterReasons: point.deadLetterReasons }));
    } else {
      if (options.redraw) io.out('\x1b[2J\x1b[H');
      printStatus(io, target, snapshot);
      for (const [name, reasons] of Object.entries(point.deadLetterReasons ?? {})) {
        io.out(`${name}: dead letters by reason: ${Object.entries(reasons).map(([reason, count]) => `${reason} ${count}`).join(', ')}`);
      }
    }
    const data = buildStatusReportData(points, {
      targetDescription: target.description,
      intervalSeconds: options.intervalSeconds,
      command: options.command ?? 'fanout status --watch',
      generatedAt: new Date().toISOString(),
    });
    html = writeReportPage(dir, data, { snapshots: points }, library).html;
    if (!io.json) io.out(`\nsnapshot ${index + 1} at ${snapshot.at}, every ${options.intervalSeconds} s; ${html} (Ctrl-C stops)`);
    await options.onSnapshot?.(point, index);
    if (options.iterations !== undefined && index + 1 >= options.iterations) break;
    await sleep(started + options.intervalSeconds * 1000 - Date.now(), options.signal);
  }
  if (!last) {
    io.err('status --watch: stopped before the first snapshot; no report written');
    return 1;
  }
  io.err(`report: ${html} (${points.length} snapshots)`);
  return statusExitCode(last);
}

/**
 * Dead letters by reason, per destination with any. A queue is read again only when its depth changed since the last
 * snapshot (reading hides its letters for a moment, see `deadLetterReasons`); otherwise the last reading stands.
 */
async function reasonsOf(target: PipelineTarget, snapshot: StatusSnapshot, before: WatchPoint | undefined): Promise<Record<string, Record<string, number>>> {
  const result: Record<string, Record<string, number>> = {};
  await Promise.all(
    Object.entries(snapshot.destinations).map(async ([name, row]) => {
      const total = row.deadLetters?.total ?? 0;
      if (total === 0) return;
      const previous = before?.deadLetterReasons?.[name];
      if (previous && before?.snapshot.destinations[name]?.deadLetters?.total === total) {
        result[name] = { ...previous };
        return;
      }
      try {
        result[name] = await deadLetterReasons(target.sqs, target.destinations[name]?.deadLetterQueueUrl ?? '', total);
      } catch (error) {
        result[name] = { [`unreadable (${describeError(error)})`]: total };
      }
    }),
  );
  return result;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
