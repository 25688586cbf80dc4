import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { ThroughputWorkload } from './workloads';
import type { RunResult } from './contenders';

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

/** A contender process's answer: `ready` once, then one per request. */
export type ContenderReply =
  | { readonly op: 'ready' }
  | { readonly op: 'reset' }
  | { readonly op: 'chunk'; readonly ms: number; readonly cpuMs: number }
  | { readonly op: 'result'; readonly result: RunResult }
  | { readonly op: 'error'; readonly message: string };

/**
 * One contender of bench (a) — pass-through or one engine mode — in a process of its own, as a function runs one
 * consumer: its own heap, so no other contender's garbage, retained ledger or inline-cache shapes weigh on its
 * collections and code. It idles until asked to run a chunk, so contenders can still take turns at chunk granularity
 * and meet the machine's other load alike.
 */
export class ContenderProcess {
  private constructor(
    readonly key: string,
    private readonly child: ChildProcess,
  ) {}

  /** Starts the process (it reads the batches `saveBatches` wrote to `batchesFile`) and waits until it is ready. */
  static async start(file: string, nodeFlags: readonly string[], key: string, batchesFile: string): Promise<ContenderProcess> {
    const child = fork(file, [], {
      execArgv: [...nodeFlags],
      env: { ...process.env, BENCH_CONTENDER: key, BENCH_BATCHES: batchesFile },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const host = new ContenderProcess(key, child);
    try {
      await host.next('ready');
    } catch (error) {
      host.close();
      throw error;
    }
    return host;
  }

  async reset(): Promise<void> {
    await this.ask({ op: 'reset' }, 'reset');
  }

  /** Runs batches `from` (inclusive) to `to` (exclusive); the time is taken inside the process, around the batches. */
  async chunk(from: number, to: number): Promise<{ ms: number; cpuMs: number }> {
    const reply = await this.ask({ op: 'chunk', from, to }, 'chunk');
    return { ms: reply.ms, cpuMs: reply.cpuMs };
  }

  /** The round so far: times summed over its chunks, and what the contender counted. */
  async result(): Promise<RunResult> {
    return (await this.ask({ op: 'result' }, 'result')).result;
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private ask<Op extends ContenderReply['op']>(request: ContenderRequest, op: Op): Promise<Extract<ContenderReply, { op: Op }>> {
    if (!this.child.connected) return Promise.reject(new Error(`bench contender ${this.key} is closed`));
    const answer = this.next(op);
    this.child.send(request, (error) => {
      if (error) this.child.kill('SIGKILL');
    });
    return answer;
  }

  private next<Op extends ContenderReply['op']>(op: Op): Promise<Extract<ContenderReply, { op: Op }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: ContenderReply) => {
        cleanup();
        if (reply.op === op) resolve(reply as Extract<ContenderReply, { op: Op }>);
        else reject(new Error(`bench contender ${this.key}: ${reply.op === 'error' ? reply.message : `expected ${op}, got ${reply.op}`}`));
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        cleanup();
        reject(new Error(`bench contender ${this.key} exited with ${signal ?? code} while ${op} was awaited`));
      };
      const cleanup = () => {
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.on('exit', onExit);
    });
  }
}
