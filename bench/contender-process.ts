import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { ThroughputWorkload } from './workloads';
import type { RunResult } from './contenders';
import { ChildHost } from './child-host';

type Batches = ThroughputWorkload['batches'];

/** Writes a workload's batches where contender processes read them (`loadBatches`), in a folder `dispose` removes. */
export function saveBatches(batches: Batches): { readonly file: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ordered-fanout-batches-'));
  const file = join(dir, 'batches.v8');
  writeFileSync(file, serialize(batches));
  return { file, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export function loadBatches(file: string): Batches {
  return deserialize(readFileSync(file)) as Batches;
}

/** What the parent asks of a contender process (`engine-child.ts`), one request at a time. */
export type ContenderRequest = { readonly op: 'reset' } | { readonly op: 'chunk'; readonly from: number; readonly to: number } | { readonly op: 'result' };

/** A contender process's answer to each request (besides `ready` and `error`: see `ChildHost`). */
export type ContenderReply =
  | { readonly op: 'reset' }
  | { readonly op: 'chunk'; readonly ms: number; readonly cpuMs: number }
  | { readonly op: 'result'; readonly result: RunResult };

/**
 * One contender of bench (a) — pass-through or one engine mode — in a process of its own, as a function runs one
 * consumer: its own heap, so no other contender's garbage, retained ledger or inline-cache shapes weigh on its
 * collections and code. It idles until asked to run a chunk, so contenders can still take turns at chunk granularity
 * and meet the machine's other load alike.
 */
export class ContenderProcess {
  private constructor(
    readonly key: string,
    private readonly host: ChildHost<ContenderRequest, ContenderReply>,
  ) {}

  /** Starts the process (it reads the batches `saveBatches` wrote to `batchesFile`) and waits until it is ready. */
  static async start(file: string, nodeFlags: readonly string[], key: string, batchesFile: string): Promise<ContenderProcess> {
    const env = { BENCH_CONTENDER: key, BENCH_BATCHES: batchesFile };
    return new ContenderProcess(key, await ChildHost.start<ContenderRequest, ContenderReply>(file, nodeFlags, `bench contender ${key}`, env));
  }

  async reset(): Promise<void> {
    await this.host.ask({ op: 'reset' }, 'reset');
  }

  /** Runs batches `from` (inclusive) to `to` (exclusive); the time is taken inside the process, around the batches. */
  async chunk(from: number, to: number): Promise<{ ms: number; cpuMs: number }> {
    const reply = await this.host.ask({ op: 'chunk', from, to }, 'chunk');
    return { ms: reply.ms, cpuMs: reply.cpuMs };
  }

  /** The round so far: times summed over its chunks, and what the contender counted. */
  async result(): Promise<RunResult> {
    return (await this.host.ask({ op: 'result' }, 'result')).result;
  }

  close(): void {
    this.host.close();
  }
}
