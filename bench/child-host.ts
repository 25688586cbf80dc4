import { fork, type ChildProcess } from 'node:child_process';

/** What every bench child answers besides its own replies: `ready` once it has started, `error` for a request it failed. */
export type HostReply = { readonly op: 'ready' } | { readonly op: 'error'; readonly message: string };

/**
 * A bench child process (bench (a)'s contenders, (d)'s scale runs) and its request/answer protocol over IPC: one
 * request at a time, each answered by a reply of the expected `op` or an `error`. A child that exits while an answer
 * is awaited rejects it, naming the child.
 */
export class ChildHost<Request extends { readonly op: string }, Reply extends { readonly op: string }> {
  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {}

  /** Forks `file` with `nodeFlags` and `env` added to this process's environment, and waits until it is ready. */
  static async start<Request extends { readonly op: string }, Reply extends { readonly op: string }>(
    file: string,
    nodeFlags: readonly string[],
    name: string,
    env: Record<string, string>,
  ): Promise<ChildHost<Request, Reply>> {
    const child = fork(file, [], { execArgv: [...nodeFlags], env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const host = new ChildHost<Request, Reply>(name, child);
    try {
      await host.next('ready');
    } catch (error) {
      host.close();
      throw error;
    }
    return host;
  }

  ask<Op extends Reply['op']>(request: Request, op: Op): Promise<Extract<Reply, { op: Op }>> {
    if (!this.child.connected) return Promise.reject(new Error(`${this.name} is closed`));
    const answer = this.next(op) as Promise<Extract<Reply, { op: Op }>>;
    this.child.send(request, (error) => {
      if (error) this.child.kill('SIGKILL');
    });
    return answer;
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private next<Op extends string>(op: Op): Promise<Extract<Reply | HostReply, { op: Op }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: Reply | HostReply) => {
        cleanup();
        if (reply.op === op) resolve(reply as Extract<Reply | HostReply, { op: Op }>);
        else reject(new Error(`${this.name}: ${reply.op === 'error' ? (reply as { message: string }).message : `expected ${op}, got ${reply.op}`}`));
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        cleanup();
        reject(new Error(`${this.name} exited with ${signal ?? code} while ${op} was awaited`));
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

/** The child's side: answers each request with `handle`'s reply (or an `error`), after `ready` once `start` succeeded. */
export function serveRequests<Request, Reply>(start: () => void, handle: (request: Request) => Promise<Reply>): void {
  const reply = (message: Reply | HostReply) => process.send?.(message);
  const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));
  process.on('message', (request: Request) => {
    handle(request).then(reply, (error: unknown) => reply({ op: 'error', message: describe(error) }));
  });
  process.on('disconnect', () => process.exit(0));
  try {
    start();
    reply({ op: 'ready' });
  } catch (error) {
    reply({ op: 'error', message: describe(error) });
  }
}
