import { PortContractError } from './errors';

/**
 * Gathers the calls that many accounts make within one turn of the event loop into one call of `flush`, so each
 * account can be written as a plain sequential procedure while the destination still sees batches. A caller may say
 * by when it needs its answer; the combined call gets the earliest of those deadlines.
 */
export class Coalescer<Item, Result> {
  private queue: Caller<Item, Result>[] = [];
  /** How many items the queued callers hold between them. */
  private size = 0;
  private deadline: number | undefined;
  private scheduled = false;

  constructor(
    private readonly flush: (items: readonly Item[], deadline: number | undefined) => Promise<readonly Result[]>,
    private readonly describe: string,
  ) {}

  /** One item: the most common call (an `in-order` account delivers one version at a time), so it allocates least. */
  submit(item: Item, deadline?: number): Promise<Result> {
    this.note(deadline);
    return new Promise<Result>((resolve, reject) => this.enqueue({ item, items: undefined, resolve, reject }, 1));
  }

  /** Several items of one caller, answered together: one promise and one queue entry for all of them. */
  submitAll(items: readonly Item[], deadline?: number): Promise<Result[]> {
    if (items.length === 0) return Promise.resolve([]);
    this.note(deadline);
    return new Promise<Result[]>((resolve, reject) => this.enqueue({ item: undefined, items, resolve, reject }, items.length));
  }

  private note(deadline: number | undefined): void {
    if (deadline !== undefined) this.deadline = Math.min(this.deadline ?? deadline, deadline);
  }

  private enqueue(caller: Caller<Item, Result>, items: number): void {
    this.queue.push(caller);
    this.size += items;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    const callers = this.queue;
    const deadline = this.deadline;
    const all = new Array<Item>(this.size);
    this.queue = [];
    this.size = 0;
    this.deadline = undefined;
    this.scheduled = false;
    let at = 0;
    for (const caller of callers) {
      if (caller.items === undefined) all[at++] = caller.item as Item;
      else for (const item of caller.items) all[at++] = item;
    }
    try {
      const results = await this.flush(all, deadline);
      if (results.length !== all.length) {
        throw new PortContractError(`${this.describe} answered ${results.length} results for ${all.length} items`);
      }
      at = 0;
      for (const caller of callers) {
        if (caller.items === undefined) {
          (caller.resolve as (result: Result) => void)(results[at++] as Result);
        } else {
          (caller.resolve as (results: Result[]) => void)(results.slice(at, (at += caller.items.length)));
        }
      }
    } catch (error) {
      for (const caller of callers) caller.reject(error);
    }
  }
}

/** One caller's items (one, or several answered together) and its promise's resolvers. */
interface Caller<Item, Result> {
  readonly item: Item | undefined;
  readonly items: readonly Item[] | undefined;
  readonly resolve: ((result: Result) => void) | ((results: Result[]) => void);
  readonly reject: (error: unknown) => void;
}
