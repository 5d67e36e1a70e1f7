import { groupCommit } from '@conveyor/core/db';
import { describe, expect, it } from 'vitest';

/** A flush that records its batches and finishes when told to. */
function recordingFlush(fail?: (item: number) => boolean) {
  const batches: number[][] = [];
  const gates: Array<() => void> = [];
  const flush = async (items: readonly number[]) => {
    batches.push([...items]);
    await new Promise<void>((resolve) => gates.push(resolve));
    if (fail && items.some(fail)) throw new Error(`bad item in ${items.join(',')}`);
    return items.map((item) => item * 10);
  };
  const release = async () => {
    // Let queued callers reach the flush before it is released.
    await new Promise((resolve) => setImmediate(resolve));
    for (const gate of gates.splice(0)) gate();
  };
  return { batches, flush, release };
}

describe('groupCommit', () => {
  it('flushes a lone item at once and groups the items that arrive while a flush is in flight', async () => {
    const { batches, flush, release } = recordingFlush();
    const write = groupCommit(flush);
    const first = write(1);
    const rest = [write(2), write(3), write(4)];
    expect(batches).toEqual([[1]]);
    await release();
    expect(await first).toBe(10);
    await release();
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('takes at most maxBatch items per flush', async () => {
    const { batches, flush, release } = recordingFlush();
    const write = groupCommit(flush, { maxBatch: 2 });
    const all = [1, 2, 3, 4, 5].map((item) => write(item));
    for (let i = 0; i < 4; i++) await release();
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([[1], [2, 3], [4, 5]]);
  });

  it('when a batch fails, flushes its items one by one so only the bad one fails', async () => {
    const { batches, flush, release } = recordingFlush((item) => item === 3);
    const write = groupCommit(flush);
    const first = write(1);
    const rest = [2, 3, 4].map((item) => write(item));
    const settled = Promise.allSettled([first, ...rest]);
    for (let i = 0; i < 6; i++) await release();
    const results = await settled;
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'failed'))).toEqual([
      10,
      20,
      'failed',
      40,
    ]);
    expect(batches).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
  });

  it('refuses a maxBatch that is not a positive integer', () => {
    expect(() => groupCommit(async () => [], { maxBatch: 0 })).toThrow(
      'options.maxBatch must be a positive integer',
    );
  });
});
