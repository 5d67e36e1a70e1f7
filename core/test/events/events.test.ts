import { type BuildRow, createOneOffBuild, finishBuild, requestBuildAbort } from '@conveyor/core/db';
import { isConveyorError } from '@conveyor/core/errors';
import {
  appendEvents,
  type BuildEvent,
  createBuildEventWriter,
  readEvents,
  type StoredBuildEvent,
  subscribeToBuildEvents,
} from '@conveyor/core/events';
import { createTestDatabase, type TestDatabase } from '@conveyor/test/harness/database.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

const log = (payload: string): BuildEvent => ({
  event: 'log',
  data: { origin: { id: 'task', source: 'stdout' }, payload, time: 1 },
});

const payloads = (events: StoredBuildEvent[]) =>
  events.map((stored) => (stored.event.event === 'log' ? stored.event.data.payload : stored.event.event));

async function newBuild(): Promise<BuildRow> {
  return createOneOffBuild(database.pool, { team: 'main', plan: {} });
}

/** Resolves once `predicate` holds for what the subscription yielded so far. */
function collect(iterator: AsyncIterableIterator<StoredBuildEvent>) {
  const seen: StoredBuildEvent[] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const done = (async () => {
    for await (const stored of iterator) {
      seen.push(stored);
      for (const waiter of waiters.filter((w) => seen.length >= w.count)) waiter.resolve();
    }
  })();
  return {
    seen,
    done,
    until: (count: number) =>
      seen.length >= count
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ count, resolve })),
  };
}

describe('appendEvents', () => {
  it('hands out consecutive ids to concurrent appenders and reads them back in order', async () => {
    const build = await newBuild();
    const writers = Array.from({ length: 10 }, (_, writer) =>
      (async () => {
        for (let batch = 0; batch < 5; batch++) {
          await appendEvents(database.pool, build.id, [
            log(`${writer}.${batch}.a`),
            log(`${writer}.${batch}.b`),
          ]);
        }
      })(),
    );
    await Promise.all(writers);
    const events = await readEvents(database.pool, build.id, -1, 1000);
    expect(events.map((stored) => stored.id)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // Each batch landed whole, in the order its writer sent it.
    for (let i = 0; i < events.length; i += 2) {
      const a = payloads(events.slice(i, i + 2));
      expect(a[0]?.replace(/a$/, 'b')).toBe(a[1]);
    }
    expect(payloads(await readEvents(database.pool, build.id, 97, 10))).toHaveLength(2);
  });

  it('keeps ids consecutive while the build is aborted and finished concurrently', async () => {
    const build = await newBuild();
    await database.pool.query(
      `UPDATE builds SET status = 'started', lease_owner = 'web-1', lease_expires_at = now() + interval '1 hour'
       WHERE id = $1`,
      [build.id],
    );
    const results = await Promise.allSettled([
      ...Array.from({ length: 20 }, (_, i) => appendEvents(database.pool, build.id, [log(`${i}`)])),
      requestBuildAbort(database.pool, build.id),
      finishBuild(database.pool, build.id, 'aborted'),
    ]);
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    const events = await readEvents(database.pool, build.id, -1);
    expect(events.map((stored) => stored.id)).toEqual(Array.from({ length: 21 }, (_, i) => i));
  });

  it('resolves the ids it appended', async () => {
    const build = await newBuild();
    expect(await appendEvents(database.pool, build.id, [log('a'), log('b')])).toEqual({
      firstEventId: 0,
      lastEventId: 1,
    });
    expect(await appendEvents(database.pool, build.id, [log('c')])).toEqual({
      firstEventId: 2,
      lastEventId: 2,
    });
    expect(await appendEvents(database.pool, build.id, [])).toBeNull();
  });
});

describe('createBuildEventWriter', () => {
  it("stores many builds' events together, each build in the order of its appends, and resolves each append's ids", async () => {
    const builds = await Promise.all(Array.from({ length: 4 }, () => newBuild()));
    const writer = createBuildEventWriter(database.pool);
    const appended = await Promise.all(
      builds.flatMap((build) =>
        Array.from({ length: 5 }, (_, i) =>
          writer.append(build.id, [log(`${build.id}.${i}.a`), log(`${build.id}.${i}.b`)]),
        ),
      ),
    );
    // Per build: appends got consecutive ranges in call order.
    builds.forEach((_, b) => {
      expect(appended.slice(b * 5, b * 5 + 5)).toEqual(
        Array.from({ length: 5 }, (_, i) => ({ firstEventId: i * 2, lastEventId: i * 2 + 1 })),
      );
    });
    for (const build of builds) {
      const events = await readEvents(database.pool, build.id, -1);
      expect(payloads(events)).toEqual(
        Array.from({ length: 5 }, (_, i) => [`${build.id}.${i}.a`, `${build.id}.${i}.b`]).flat(),
      );
    }
  });

  it('fails only the append that is at fault when a batch cannot be stored', async () => {
    const build = await newBuild();
    const writer = createBuildEventWriter(database.pool);
    const results = await Promise.allSettled([
      writer.append(build.id, [log('first')]),
      writer.append(build.id, [log('second')]),
      // No such build: the foreign key refuses it, and only it.
      writer.append(2_000_000_000, [log('orphan')]),
      writer.append(build.id, [log('third')]),
    ]);
    expect(results.map((result) => result.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(payloads(await readEvents(database.pool, build.id, -1))).toEqual(['first', 'second', 'third']);
  });
});

describe('subscribeToBuildEvents', () => {
  it('yields the stored events, then live ones in order, and ends after the final status', async () => {
    const build = await newBuild();
    await appendEvents(database.pool, build.id, [log('one'), log('two')]);
    const subscription = collect(await subscribeToBuildEvents(database.pool, build.id, 0));
    await subscription.until(2);

    // Appended concurrently while the subscriber reads: none missed, none twice, in id order.
    await Promise.all(
      Array.from({ length: 5 }, (_, writer) =>
        appendEvents(database.pool, build.id, [log(`live-${writer}`)]),
      ),
    );
    await subscription.until(7);
    await appendEvents(database.pool, build.id, [{ event: 'status', data: { status: 'started', time: 2 } }]);
    await finishBuild(database.pool, build.id, 'succeeded');
    await subscription.done;

    expect(subscription.seen.map((stored) => stored.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(payloads(subscription.seen).slice(0, 2)).toEqual(['one', 'two']);
    expect(subscription.seen.at(-1)?.event).toMatchObject({ event: 'status', data: { status: 'succeeded' } });
  });

  it('resumes from an event id and ends at once for a finished build', async () => {
    const build = await newBuild();
    await appendEvents(database.pool, build.id, [log('a'), log('b'), log('c')]);
    await finishBuild(database.pool, build.id, 'failed');
    const seen: StoredBuildEvent[] = [];
    for await (const stored of await subscribeToBuildEvents(database.url, build.id, 2)) seen.push(stored);
    expect(seen.map((stored) => stored.id)).toEqual([2, 3]);
    expect(payloads(seen)).toEqual(['c', 'status']);
  });

  it('serves several subscribers of several builds over the shared connection', async () => {
    const [first, second] = [await newBuild(), await newBuild()];
    const subscriptions = await Promise.all(
      [first, second, first].map(async (build) =>
        collect(await subscribeToBuildEvents(database.pool, build.id)),
      ),
    );
    await appendEvents(database.pool, first.id, [log('first')]);
    await appendEvents(database.pool, second.id, [log('second')]);
    await finishBuild(database.pool, first.id, 'succeeded');
    await finishBuild(database.pool, second.id, 'errored');
    await Promise.all(subscriptions.map((subscription) => subscription.done));
    expect(subscriptions.map((subscription) => payloads(subscription.seen))).toEqual([
      ['first', 'status'],
      ['second', 'status'],
      ['first', 'status'],
    ]);
  });

  it('ends when its signal aborts, even while waiting for an event', async () => {
    const build = await newBuild();
    const controller = new AbortController();
    const subscription = collect(
      await subscribeToBuildEvents(database.pool, build.id, 0, { signal: controller.signal }),
    );
    await appendEvents(database.pool, build.id, [log('only')]);
    await subscription.until(1);
    controller.abort();
    await subscription.done;
    expect(payloads(subscription.seen)).toEqual(['only']);
  });

  it('rejects an unknown build', async () => {
    const error = await subscribeToBuildEvents(database.pool, 99_999_999).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(isConveyorError(error, 'CC_E_SCHEDULER_BUILD_NOT_FOUND')).toBe(true);
  });
});
