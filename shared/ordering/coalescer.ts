import { PortContractError } from './errors';

/**
 * Gathers the calls that many accounts make within one turn of the event loop into one call of `flush`, so each
 * account can be written as a plain sequential procedure while the destination still sees batches. A caller may say
 * by when it needs its answer; the combined call gets the earliest of those deadlines.
 *
 * Every caller of a turn shares one promise of the combined answer and takes its own part of it: a promise, two
 * resolvers and an entry per caller were most of the garbage of a `per-version` delivery.
 */
export class Coalescer<Item, Result> {
  private items: Item[] = [];
  private deadline: number | undefined;
  /** The combined answer of this turn's calls, once one is waiting. */
  private answer: Promise<readonly Result[]> | undefined;

  constructor(
    private readonly flush: (items: readonly Item[], deadline: number | undefined) => Promise<readonly Result[]>,
    private readonly describe: string,
  ) {}

  /** One item: the most common call (an `in-order` account's delivery under `per-version` commits). */
  submit(item: Item, deadline?: number): Promise<Result> {
    this.note(deadline);
    const at = this.items.push(item) - 1;
    return this.turn().then((results) => results[at] as Result);
  }

  /** Several items of one caller, answered together. */
  submitAll(items: readonly Item[], deadline?: number): Promise<Result[]> {
    if (items.length === 0) return Promise.resolve([]);
    this.note(deadline);
    const from = this.items.length;
    for (const item of items) this.items.push(item);
    return this.turn().then((results) => results.slice(from, from + items.length));
  }

  private note(deadline: number | undefined): void {
    if (deadline !== undefined) this.deadline = Math.min(this.deadline ?? deadline, deadline);
  }

  /** The answer of this turn's combined call, made once the turn's other callers have had their chance to join it. */
  private turn(): Promise<readonly Result[]> {
    return (this.answer ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain()));
  }

  private drain(): Promise<readonly Result[]> {
    const items = this.items;
    const deadline = this.deadline;
    this.items = [];
    this.deadline = undefined;
    this.answer = undefined;
    return this.flush(items, deadline).then((results) => {
      if (results.length !== items.length) throw new PortContractError(`${this.describe} answered ${results.length} results for ${items.length} items`);
      return results;
    });
  }
}
