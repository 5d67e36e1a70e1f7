export interface GroupCommitOptions {
  /** The most items one flush takes. Default 500. */
  maxBatch?: number | undefined;
}

/**
 * Group commit: callers hand in one item each and await its result; while a flush is in flight,
 * the items that arrive wait and go together in the next one. An idle writer flushes at once, so a
 * lone caller waits no longer than with a write of its own; under load one statement carries many
 * callers' writes, which is what lets many builds share the cost of a round trip and a commit.
 *
 * `flush` returns one result per item, in order. When a batch of several fails, each of its items
 * is flushed again alone, so one bad item fails only its own caller.
 */
export function groupCommit<T, R>(
  flush: (items: readonly T[]) => Promise<readonly R[]>,
  options: GroupCommitOptions = {},
): (item: T) => Promise<R> {
  const maxBatch = options.maxBatch ?? 500;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) {
    throw new TypeError('options.maxBatch must be a positive integer');
  }
  interface Waiting {
    item: T;
    resolve: (result: R) => void;
    reject: (error: unknown) => void;
  }
  let queue: Waiting[] = [];
  let flushing = false;

  const flushOne = async (waiting: Waiting) => {
    try {
      waiting.resolve(expectOne(await flush([waiting.item])));
    } catch (error) {
      waiting.reject(error);
    }
  };

  const drain = async () => {
    flushing = true;
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        if (batch.length === 1) {
          await flushOne(batch[0] as Waiting);
          continue;
        }
        let results: readonly R[] | undefined;
        try {
          results = await flush(batch.map((waiting) => waiting.item));
        } catch {
          // One of them may be at fault: each goes again alone and fails or succeeds on its own.
          for (const waiting of batch) await flushOne(waiting);
          continue;
        }
        if (results.length !== batch.length) {
          const error = new Error(
            `a group commit returned ${results.length} results for ${batch.length} items`,
          );
          for (const waiting of batch) waiting.reject(error);
          continue;
        }
        for (const [i, waiting] of batch.entries()) waiting.resolve(results[i] as R);
      }
    } finally {
      flushing = false;
    }
  };

  return (item: T) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!flushing) void drain();
    });
}

function expectOne<R>(results: readonly R[]): R {
  if (results.length !== 1) throw new Error(`a group commit returned ${results.length} results for 1 item`);
  return results[0] as R;
}
