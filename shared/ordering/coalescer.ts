import { PortContractError } from './errors';

/**
 * Gathers the calls that many accounts make within one turn of the event loop into one call of `flush`, so each
 * account can be written as a plain sequential procedure while the destination still sees batches.
 */
export class Coalescer<Item, Result> {
  private queue: { item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void }[] = [];
  private scheduled = false;

  constructor(
    private readonly flush: (items: readonly Item[]) => Promise<readonly Result[]>,
    private readonly describe: string,
  ) {}

  submit(item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Several items of one caller, answered together: one promise instead of one per item. */
  submitAll(items: readonly Item[]): Promise<Result[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<Result[]>((resolve, reject) => {
      const results = new Array<Result>(items.length);
      let left = items.length;
      items.forEach((item, index) =>
        this.queue.push({
          item,
          resolve: (result) => {
            results[index] = result;
            if (--left === 0) resolve(results);
          },
          reject,
        }),
      );
      this.schedule();
    });
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.drain());
    }
  }

  private async drain(): Promise<void> {
    const entries = this.queue;
    this.queue = [];
    this.scheduled = false;
    try {
      const results = await this.flush(entries.map((entry) => entry.item));
      if (results.length !== entries.length) {
        throw new PortContractError(`${this.describe} answered ${results.length} results for ${entries.length} items`);
      }
      entries.forEach((entry, index) => entry.resolve(results[index] as Result));
    } catch (error) {
      for (const entry of entries) entry.reject(error);
    }
  }
}
