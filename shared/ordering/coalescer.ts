import { PortContractError } from './errors';

/**
 * Gathers the calls that many accounts make within one turn of the event loop into one call of `flush`, so each
 * account can be written as a plain sequential procedure while the destination still sees batches. A caller may say
 * by when it needs its answer; the combined call gets the earliest of those deadlines.
 */
export class Coalescer<Item, Result> {
  private queue: Entry<Item, Result>[] = [];
  private deadline: number | undefined;
  private scheduled = false;

  constructor(
    private readonly flush: (items: readonly Item[], deadline: number | undefined) => Promise<readonly Result[]>,
    private readonly describe: string,
  ) {}

  /** One item: the most common call (an `in-order` account delivers one version at a time), so it allocates least. */
  submit(item: Item, deadline?: number): Promise<Result> {
    this.note(deadline);
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ item, group: undefined, index: 0, resolve, reject });
      this.schedule();
    });
  }

  /** Several items of one caller, answered together: one promise instead of one per item. */
  submitAll(items: readonly Item[], deadline?: number): Promise<Result[]> {
    if (items.length === 0) return Promise.resolve([]);
    this.note(deadline);
    return new Promise<Result[]>((resolve, reject) => {
      const group: Group<Result> = { results: new Array<Result>(items.length), left: items.length, resolve, reject };
      for (let index = 0; index < items.length; index += 1) {
        this.queue.push({ item: items[index] as Item, group, index, resolve: undefined, reject: undefined });
      }
      this.schedule();
    });
  }

  private note(deadline: number | undefined): void {
    if (deadline !== undefined) this.deadline = Math.min(this.deadline ?? deadline, deadline);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    const entries = this.queue;
    const deadline = this.deadline;
    this.queue = [];
    this.deadline = undefined;
    this.scheduled = false;
    try {
      const results = await this.flush(
        entries.map((entry) => entry.item),
        deadline,
      );
      if (results.length !== entries.length) {
        throw new PortContractError(`${this.describe} answered ${results.length} results for ${entries.length} items`);
      }
      entries.forEach((entry, position) => {
        const result = results[position] as Result;
        const group = entry.group;
        if (group === undefined) {
          entry.resolve?.(result);
          return;
        }
        group.results[entry.index] = result;
        group.left -= 1;
        if (group.left === 0) group.resolve(group.results);
      });
    } catch (error) {
      for (const entry of entries) (entry.group ?? entry).reject?.(error);
    }
  }
}

interface Group<Result> {
  readonly results: Result[];
  left: number;
  readonly resolve: (results: Result[]) => void;
  readonly reject: (error: unknown) => void;
}

/** One submitted item: part of a group (`submitAll`), or on its own with its promise's resolvers (`submit`). */
interface Entry<Item, Result> {
  readonly item: Item;
  readonly group: Group<Result> | undefined;
  readonly index: number;
  readonly resolve: ((result: Result) => void) | undefined;
  readonly reject: ((error: unknown) => void) | undefined;
}
