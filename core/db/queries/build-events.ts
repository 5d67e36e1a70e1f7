import type { BuildEvent, BuildStatus } from '../../events/build-event.generated.js';
import type { Queryable } from '../pool.js';

/** The NOTIFY channel of build events; the payload is `<buildId>:<lastEventId>`. */
export const BUILD_EVENTS_CHANNEL = 'conveyor_build_events';

/**
 * Appends events to one or more builds: each build takes as many ids from its counter as it has
 * events here, the events go in under them in the order given, and each build's last id is
 * announced. The counter rows stay locked until the caller's transaction commits, so concurrent
 * appenders to one build get consecutive ranges and commit in the order of their ids: a reader
 * never sees id N+1 before id N. Counters are taken in build id order, so two batches never wait
 * for each other in a cycle. pg_notify is delivered at commit, after the rows are visible.
 */
const APPEND_EVENTS = `
  WITH batch AS (
    SELECT e.build_id, e.type, e.payload, e.ord
    FROM unnest($1::bigint[], $2::text[], $3::jsonb[]) WITH ORDINALITY AS e (build_id, type, payload, ord)
  ), counts AS (
    SELECT build_id, count(*)::integer AS n FROM batch GROUP BY build_id
  ), counter AS (
    INSERT INTO build_event_counters AS c (build_id, next_event_id)
    SELECT build_id, n FROM counts ORDER BY build_id
    ON CONFLICT (build_id) DO UPDATE SET next_event_id = c.next_event_id + excluded.next_event_id
    RETURNING c.build_id, c.next_event_id
  ), inserted AS (
    INSERT INTO build_events (build_id, event_id, type, payload)
    SELECT b.build_id,
           counter.next_event_id - counts.n - 1
             + (row_number() OVER (PARTITION BY b.build_id ORDER BY b.ord))::integer,
           b.type, b.payload
    FROM batch b JOIN counts USING (build_id) JOIN counter USING (build_id)
    RETURNING build_id, event_id
  )
  SELECT build_id, min(event_id) AS first_event_id, max(event_id) AS last_event_id,
         pg_notify('${BUILD_EVENTS_CHANNEL}', build_id::text || ':' || max(event_id)::text)
  FROM inserted GROUP BY build_id`;

export interface AppendedEvents {
  /** The id of the first event appended. */
  firstEventId: number;
  /** The id of the last event appended. */
  lastEventId: number;
}

/** Events for one build, as one entry of a batch. */
export interface BuildEventBatch {
  buildId: number;
  events: readonly BuildEvent[];
}

/**
 * Appends events to a build (already redacted: they are stored as given). Inside a transaction the
 * build's next appenders wait until it ends, so keep such transactions short.
 */
export async function insertBuildEvents(
  db: Queryable,
  buildId: number,
  events: readonly BuildEvent[],
): Promise<AppendedEvents | null> {
  const [appended] = await insertBuildEventBatches(db, [{ buildId, events }]);
  return appended ?? null;
}

/**
 * Appends the events of several entries in one statement; resolves, per entry, the ids its events
 * got (null for an entry without events). Entries for the same build keep their order.
 */
export async function insertBuildEventBatches(
  db: Queryable,
  batches: readonly BuildEventBatch[],
): Promise<Array<AppendedEvents | null>> {
  const buildIds: number[] = [];
  const types: string[] = [];
  const payloads: string[] = [];
  for (const { buildId, events } of batches) {
    for (const event of events) {
      buildIds.push(buildId);
      types.push(event.event);
      // pg would send a JS array as a Postgres array literal: each payload goes as JSON text.
      payloads.push(JSON.stringify(event.data));
    }
  }
  if (buildIds.length === 0) return batches.map(() => null);
  const { rows } = await db.query<{ build_id: number; first_event_id: number }>({
    name: 'conveyor_append_build_events',
    text: APPEND_EVENTS,
    values: [buildIds, types, payloads],
  });
  // Hand each entry its slice of its build's range, in the order the entries were given.
  const next = new Map(rows.map((row) => [row.build_id, row.first_event_id]));
  return batches.map(({ buildId, events }) => {
    const first = next.get(buildId);
    if (events.length === 0 || first === undefined) return null;
    next.set(buildId, first + events.length);
    return { firstEventId: first, lastEventId: first + events.length - 1 };
  });
}

/** A stored build event and its id (the SSE event id). */
export interface StoredBuildEvent {
  id: number;
  event: BuildEvent;
}

const READ_EVENTS = `
  SELECT event_id, type, payload FROM build_events
  WHERE build_id = $1 AND event_id > $2
  ORDER BY event_id
  LIMIT $3`;

/** The build's events with ids above `afterEventId` (-1 for all), oldest first. */
export async function selectBuildEvents(
  db: Queryable,
  buildId: number,
  afterEventId: number,
  limit: number,
): Promise<StoredBuildEvent[]> {
  const { rows } = await db.query<{ event_id: number; type: string; payload: unknown }>({
    name: 'conveyor_read_build_events',
    text: READ_EVENTS,
    values: [buildId, afterEventId, limit],
  });
  // The rows were written from BuildEvents by insertBuildEvents: type and payload pair up again.
  return rows.map((row) => ({
    id: row.event_id,
    event: { event: row.type, data: row.payload } as BuildEvent,
  }));
}

/** A status event for now: Unix seconds, as Concourse's events carry them. */
export function statusEvent(status: BuildStatus): BuildEvent {
  return { event: 'status', data: { status, time: Math.floor(Date.now() / 1000) } };
}
