/**
 * A FIFO async mutex: `run` calls execute one at a time, in call order. The registry holds it
 * while writing blobs and creating versions, and while deleting versions and collecting their
 * blobs, so a blob that a new version is about to reference is never collected under it.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `fn` once every earlier `run` has settled; returns its result. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => {
      release = r;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
