/**
 * The in-process lock between writes that add references to stored blobs (a manifest PUT, a blob
 * link, a mirror caching a manifest) and the garbage collector's sweep. Writes share it and run
 * side by side; a collection takes it alone, briefly, twice: once as a barrier when it starts
 * (so every write either finished before the mark began, or journals what it references for the
 * sweep), and once for the sweep itself (so no write checks that a blob exists, then has it
 * deleted under it before its manifest is linked). A waiting collection goes before new writes:
 * a steady stream of pushes cannot starve it.
 */
export class ReferenceLock {
  #writers = 0;
  #drained: (() => void) | undefined;
  /** Settles when the exclusive holder (or the last one queued) is done. */
  #exclusive: Promise<void> | undefined;
  /** Digests referenced by writes while a collection runs, keyed by repository (undefined: none runs). */
  #journal: Map<string, Set<string>> | undefined;

  /** Run a write that adds references; it waits while a collection holds the lock. */
  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#exclusive) await this.#exclusive;
    this.#writers++;
    try {
      return await fn();
    } finally {
      this.#writers--;
      if (this.#writers === 0) this.#drained?.();
    }
  }

  /** Run `fn` with no write in flight and none starting. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#exclusive) await this.#exclusive;
    let release!: () => void;
    this.#exclusive = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      while (this.#writers > 0)
        await new Promise<void>((resolve) => {
          this.#drained = resolve;
        });
      this.#drained = undefined;
      return await fn();
    } finally {
      this.#exclusive = undefined;
      release();
    }
  }

  /** Inside a write: note that `repository` now references `digests`, if a collection is marking. */
  journal(repository: string, ...digests: string[]): void {
    if (!this.#journal) return;
    const set = this.#journal.get(repository) ?? new Set<string>();
    for (const digest of digests) set.add(digest);
    this.#journal.set(repository, set);
  }

  /** Inside `exclusive`: from now on, writes journal what they reference. */
  startJournal(): void {
    this.#journal = new Map();
  }

  /** Inside `exclusive` (or after a failed collection): stop journaling, and hand over the journal. */
  takeJournal(): Map<string, Set<string>> {
    const journal = this.#journal ?? new Map<string, Set<string>>();
    this.#journal = undefined;
    return journal;
  }
}
