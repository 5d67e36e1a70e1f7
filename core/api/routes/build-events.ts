import type { FastifyBaseLogger, FastifyInstance, FastifyReply } from 'fastify';
import type { BuildEventsHeaders } from '../generated/build-events-headers.generated.js';
import type { BuildEventsQuery } from '../generated/build-events-query.generated.js';
import type { BuildParams } from '../generated/build-params.generated.js';
import { inlineSchema, refs } from '../schemas.js';
import type { BuildEventRecord } from '../services.js';
import { endMessage, eventMessage, kHeartbeatMessage, kSseHeaders, writeSse } from '../sse.js';
import type { ApiDeps, FilledApiOptions } from '../types.js';

/** Where a stream starts: after the client's Last-Event-ID when it reconnects, else at `from`. */
function startIndex(headers: BuildEventsHeaders, query: BuildEventsQuery): number {
  const lastEventId = headers['last-event-id'];
  if (typeof lastEventId === 'string') return Number(lastEventId) + 1;
  return query.from ?? 0;
}

/**
 * A build's events as Server-Sent Events, like Concourse's `GET /api/v1/builds/:id/events`: the
 * stored events from the start index, then live ones, then `end` once the build has finished.
 * Like Concourse, the response stays open after `end` until the client closes it, because an
 * EventSource reconnects whenever the server closes.
 */
export async function buildEventRoutes(
  app: FastifyInstance,
  { deps, options }: { deps: ApiDeps; options: FilledApiOptions },
): Promise<void> {
  // Open streams never end by themselves; closing the server ends them, so close() does not hang.
  const open = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const stream of open) stream.abort();
  });

  app.get<{ Params: BuildParams; Querystring: BuildEventsQuery; Headers: BuildEventsHeaders }>(
    '/builds/:id/events',
    {
      // A HEAD would subscribe and wait for events it could never send.
      exposeHeadRoute: false,
      schema: {
        operationId: 'getBuildEvents',
        summary: 'Stream the events of a build (Server-Sent Events)',
        description:
          'Each event is an `event: event` message whose `id:` is its index in the build and whose `data:` is a BuildEventMessage. Stored events come first, then live ones; once the build has finished an `event: end` message follows and nothing more. To resume, send `Last-Event-ID` (EventSource does on reconnect) or `?from=INDEX`. Comment lines (`: heartbeat`) arrive while the build is quiet.',
        tags: ['builds'],
        params: refs.buildParams,
        querystring: refs.buildEventsQuery,
        headers: inlineSchema('buildEventsHeaders'),
        response: {
          200: {
            description: 'The event stream.',
            content: { 'text/event-stream': { schema: refs.buildEventMessage } },
          },
        },
      },
    },
    async (request, reply) => {
      const from = startIndex(request.headers, request.query);
      const stream = new AbortController();
      open.add(stream);
      // 'close' comes when the client goes away, and also after we end the response ourselves.
      reply.raw.once('close', () => stream.abort());
      let events: AsyncIterable<BuildEventRecord>;
      try {
        events = await deps.builds.events(request.params.id, { from, signal: stream.signal });
      } catch (error) {
        stream.abort();
        open.delete(stream);
        // Nothing is written yet, so the error handler answers as for any route (404 and all).
        throw error;
      }
      // From here on the response is ours: fastify neither serializes nor sends anything.
      reply.hijack();
      // Headers hooks set on the reply (x-request-id) would be lost with it: carry them over.
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) reply.raw.setHeader(name, value);
      }
      reply.raw.writeHead(200, kSseHeaders);
      reply.raw.flushHeaders();
      try {
        await pump(reply, events, {
          from,
          signal: stream.signal,
          heartbeatMs: options.sseHeartbeatMs,
          log: request.log,
        });
      } finally {
        stream.abort();
        open.delete(stream);
        if (!reply.raw.writableEnded) reply.raw.end();
      }
    },
  );
}

interface PumpOptions {
  /** The index the stream starts at: what `end` carries when no event came. */
  from: number;
  signal: AbortSignal;
  heartbeatMs: number;
  log: FastifyBaseLogger;
}

/** Writes the events, then `end`, then heartbeats until the client leaves or the server closes. */
async function pump(
  reply: FastifyReply,
  events: AsyncIterable<BuildEventRecord>,
  { from, signal, heartbeatMs, log }: PumpOptions,
): Promise<void> {
  const raw = reply.raw;
  const heartbeat = setInterval(() => {
    if (!raw.destroyed && !raw.writableEnded) raw.write(kHeartbeatMessage);
  }, heartbeatMs);
  try {
    let next = from;
    for await (const record of events) {
      if (!(await writeSse(raw, eventMessage(record)))) return;
      next = record.id + 1;
    }
    // The iteration also ends when the signal aborts; only a build that finished gets `end`.
    if (signal.aborted) return;
    if (!(await writeSse(raw, endMessage(next)))) return;
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } catch (error) {
    // Headers are out, so there is no error reply to give: end the stream, and the client
    // reconnects with Last-Event-ID and misses nothing.
    log.error({ err: error }, 'build event stream failed');
  } finally {
    clearInterval(heartbeat);
  }
}
