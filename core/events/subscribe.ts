import { isFinishedStatus, type StoredBuildEvent, selectBuildEvents } from '../db/index.js';
import { ConveyorError } from '../errors/index.js';
import { BuildEventHub, type EventSource, type Wakeup } from './event-hub.js';

/** One hub per source, so every subscriber of a process shares one LISTEN connection. */
const hubs = new Map<EventSource, BuildEventHub>();

function hubFor(source: EventSource): BuildEventHub {
  const existing = hubs.get(source);
  if (existing !== undefined && !existing.closed) return existing;
  const hub: BuildEventHub = new BuildEventHub(source, () => {
    if (hubs.get(source) === hub) hubs.delete(source);
  });
  hubs.set(source, hub);
  return hub;
}

export interface SubscribeOptions {
  /** Ends the iteration promptly, even while it waits for the next event, and releases it. */
  signal?: AbortSignal | undefined;
  /** Events read per query. Default 500. */
  batchSize?: number | undefined;
}

/**
 * The build's events from id `fromEventId` on (0: from the start; `Last-Event-ID` + 1 to resume):
 * first those stored, then each new one as it is stored, in id order without gaps or repeats. The
 * iteration ends after the build's final status event (succeeded, failed, errored, aborted).
 *
 * Resolves once the subscription is in place, so nothing stored after that is missed: the
 * subscriber is registered on the shared LISTEN connection before it reads, and every read starts
 * by clearing its wake-up flag, so a notification that lands during a read makes it read again.
 * Rejects CC_E_SCHEDULER_BUILD_NOT_FOUND for an unknown build. Iterate to the end, break out, or
 * abort `signal`: each of these releases the subscription.
 */
export async function subscribeToBuildEvents(
  source: EventSource,
  buildId: number,
  fromEventId = 0,
  options: SubscribeOptions = {},
): Promise<AsyncIterableIterator<StoredBuildEvent>> {
  if (!Number.isSafeInteger(buildId)) throw new TypeError('buildId must be an integer');
  if (!Number.isSafeInteger(fromEventId) || fromEventId < 0) {
    throw new TypeError('fromEventId must be a non-negative integer');
  }
  const batchSize = options.batchSize ?? 500;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new TypeError('options.batchSize must be a positive integer');

  const hub = hubFor(source);
  const wakeup = await hub.subscribe(buildId);
  try {
    if ((await buildStatus(hub, buildId)) === null) {
      throw new ConveyorError('CC_E_SCHEDULER_BUILD_NOT_FOUND', `build ${buildId} does not exist`, {
        details: { buildId },
      });
    }
  } catch (error: unknown) {
    wakeup.close();
    throw error;
  }
  const signal = options.signal;
  signal?.addEventListener('abort', () => wakeup.close(), { once: true });
  return follow(hub, wakeup, buildId, fromEventId - 1, batchSize, signal);
}

async function* follow(
  hub: BuildEventHub,
  wakeup: Wakeup,
  buildId: number,
  start: number,
  batchSize: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<StoredBuildEvent> {
  let after = start;
  try {
    try {
      for (;;) {
        if (wakeup.closed || signal?.aborted) return;
        wakeup.reset();
        const events = await selectBuildEvents(hub.pool, buildId, after, batchSize);
        for (const stored of events) {
          yield stored;
          after = stored.id;
          if (isFinalStatus(stored)) return;
        }
        if (events.length === batchSize) continue;

        // Caught up. A build that ended without a final status event (or was deleted) ends the
        // stream too, once whatever it stored is read.
        if (wakeup.closed) return;
        const status = await buildStatus(hub, buildId);
        if (status === null || isFinishedStatus(status)) {
          for (;;) {
            const rest = await selectBuildEvents(hub.pool, buildId, after, batchSize);
            for (const stored of rest) {
              yield stored;
              after = stored.id;
              if (isFinalStatus(stored)) return;
            }
            if (rest.length < batchSize) return;
          }
        }
        await wakeup.wait(signal);
      }
    } catch (error: unknown) {
      // Aborted mid-read (a URL source's pool may close under it): the stream just ends.
      if (wakeup.closed || signal?.aborted) return;
      throw error;
    }
  } finally {
    wakeup.close();
  }
}

function isFinalStatus(stored: StoredBuildEvent): boolean {
  return stored.event.event === 'status' && isFinishedStatus(stored.event.data.status);
}

async function buildStatus(hub: BuildEventHub, buildId: number): Promise<string | null> {
  const { rows } = await hub.pool.query<{ status: string }>({
    name: 'conveyor_build_status',
    text: 'SELECT status FROM builds WHERE id = $1',
    values: [buildId],
  });
  return rows[0]?.status ?? null;
}

/** Closes every shared LISTEN connection (at shutdown); open subscriptions end. */
export async function closeBuildEventSubscriptions(): Promise<void> {
  const all = [...hubs.values()];
  hubs.clear();
  await Promise.all(all.map((hub) => hub.close()));
}
