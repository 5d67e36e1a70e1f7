import type { BuildEvent, BuildStatus } from '../../events/build-event.generated.js';
import type { Queryable } from '../pool.js';

/** The NOTIFY channel of build events; the payload is `<buildId>:<lastEventId>`. */
export const BUILD_EVENTS_CHANNEL = 'conveyor_build_events';

/**
 * Takes `$2` ids from the build's counter and inserts the events under them, then announces the
 * last id. The counter row stays locked until the caller's transaction commits, so concurrent
 * appenders to one build get consecutive ranges and commit in the order of their ids: a reader
 * never sees id N+1 before id N. pg_notify is delivered at commit, after the rows are visible.
 */
const APPEND_EVENTS = `
  WITH counter AS (
    INSERT INTO build_event_counters AS c (build_id, next_event_id) VALUES ($1, $2)
    ON CONFLICT (build_id) DO UPDATE SET next_event_id = c.next_event_id + excluded.next_event_id
    RETURNING next_event_id - $2 AS first_id
  ), inserted AS (
    INSERT INTO build_events (build_id, event_id, type, payload)
    SELECT $1, counter.first_id + e.ord::integer - 1, e.type, e.payload
    FROM counter, unnest($3::text[], $4::jsonb[]) WITH ORDINALITY AS e (type, payload, ord)
    RETURNING event_id
  )
  SELECT min(event_id) AS first_event_id, max(event_id) AS last_event_id,
         pg_notify('${BUILD_EVENTS_CHANNEL}', $1::text || ':' || max(event_id)::text)
  FROM inserted`;

export interface AppendedEvents {
  /** The id of the first event appended. */
  firstEventId: number;
  /** The id of the last event appended. */
  lastEventId: number;
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
  if (events.length === 0) return null;
  const { rows } = await db.query<{ first_event_id: number; last_event_id: number }>({
    name: 'conveyor_append_build_events',
    text: APPEND_EVENTS,
    values: [
      buildId,
      events.length,
      events.map((event) => event.event),
      // pg would send a JS array as a Postgres array literal: each payload goes as JSON text.
      events.map((event) => JSON.stringify(event.data)),
    ],
  });
  const row = rows[0];
  if (row === undefined || row.first_event_id === null) return null;
  return { firstEventId: row.first_event_id, lastEventId: row.last_event_id };
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
