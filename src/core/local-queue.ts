/**
 * A FIFO mutex per key, inside one process. Requests of one process for one
 * session wait here for each other instead of polling DynamoDB, so only the
 * head of each process's queue ever contends across servers.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** True when nobody holds or waits for `key`. */
  idle(key: string): boolean {
    return !this.tails.has(key);
  }

  get size(): number {
    return this.tails.size;
  }

  /** Resolves with a release function once every earlier holder of `key` has released. */
  async acquire(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}
