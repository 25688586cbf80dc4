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

  submit(item: Item, deadline?: number): Promise<Result> {
    return this.submitAll([item], deadline).then(firstOf);
  }

  /** Several items of one caller, answered together: one promise instead of one per item. */
  submitAll(items: readonly Item[], deadline?: number): Promise<Result[]> {
    if (items.length === 0) return Promise.resolve([]);
    if (deadline !== undefined) this.deadline = Math.min(this.deadline ?? deadline, deadline);
    return new Promise<Result[]>((resolve, reject) => {
      const group: Group<Result> = { results: new Array<Result>(items.length), left: items.length, resolve, reject };
      for (let index = 0; index < items.length; index += 1) {
        this.queue.push({ item: items[index] as Item, group, index });
      }
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.drain());
      }
    });
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
      entries.forEach(({ group, index }, position) => {
        group.results[index] = results[position] as Result;
        group.left -= 1;
        if (group.left === 0) group.resolve(group.results);
      });
    } catch (error) {
      for (const { group } of entries) group.reject(error);
    }
  }
}

interface Group<Result> {
  readonly results: Result[];
  left: number;
  readonly resolve: (results: Result[]) => void;
  readonly reject: (error: unknown) => void;
}

interface Entry<Item, Result> {
  readonly item: Item;
  readonly group: Group<Result>;
  readonly index: number;
}

function firstOf<Result>(results: Result[]): Result {
  return results[0] as Result;
}
