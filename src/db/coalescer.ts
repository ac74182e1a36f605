/**
 * Gathers calls and hands them to `fn` together: many runs ending at once cost one write,
 * not one each, and many reads at once one read. One call of `fn` is under way at a time;
 * calls made meanwhile wait for the next, so batches grow with the load instead of with a
 * timer. `fn` answers with one result per item, in order; a failure of `fn` fails every call
 * it was given.
 */
export class Coalescer<T, R> {
  private items: Array<{ item: T; resolve: (r: R) => void; reject: (err: unknown) => void }> = [];
  private busy = false;

  constructor(private readonly fn: (items: T[]) => Promise<R[]>) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.items.push({ item, resolve, reject });
      if (!this.busy) {
        this.busy = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush() {
    const pending = this.items.splice(0, this.items.length);
    try {
      const results = await this.fn(pending.map((p) => p.item));
      pending.forEach((p, i) => p.resolve(results[i]));
    } catch (err) {
      for (const p of pending) p.reject(err);
    }
    if (this.items.length) setImmediate(() => void this.flush());
    else this.busy = false;
  }
}
