import type { DeadLetter, DeadLetterQueue } from '../ordering/ports';

/*
 * The consumer's dead-letter queue as the engine sees it, remembering what it stored during the batch in hand. Apart
 * from the consumer: a wrapper of the queue port, whatever the batch does with the letters.
 */

/** Remembers the letters the queue stored, so each can be logged with its account, version and reason. */
export class WatchedDeadLetterQueue implements DeadLetterQueue {
  #stored: DeadLetter[] = [];

  constructor(private readonly inner: DeadLetterQueue) {}

  watch(): void {
    this.#stored = [];
  }

  take(): DeadLetter[] {
    const stored = this.#stored;
    this.#stored = [];
    return stored;
  }

  async send(letters: readonly DeadLetter[]): Promise<readonly boolean[]> {
    const stored = await this.inner.send(letters);
    letters.forEach((letter, index) => {
      if (stored[index]) this.#stored.push(letter);
    });
    return stored;
  }
}
