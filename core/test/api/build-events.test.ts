import { get, type IncomingMessage } from 'node:http';
import type { InMemoryApiServices } from '@conveyor/test/harness/api-services.js';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { authed, listeningWorldApi, samplePipeline, worldApi } from './helpers.js';

/** One SSE message as a client parses it; a comment block has only `comment`. */
interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
  /** The block exactly as it came over the wire, without the blank line that ends it. */
  raw: string;
}

/**
 * A minimal SSE client on node:http, one socket per stream (no agent, so closing the stream
 * closes the socket and nothing idle is left behind): reads the response as it arrives and hands
 * out one message (or comment) at a time. inject() cannot do this: it waits for the whole response.
 */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const request = get(url, { agent: false, headers: { ...authed, ...headers } });
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  response.setEncoding('utf8');
  const chunks = response[Symbol.asyncIterator]();
  let buffer = '';
  const next = async (): Promise<SseMessage | null> => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const raw = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const message: SseMessage = { raw };
        for (const line of raw.split('\n')) {
          if (line.startsWith(':')) message.comment = line.slice(1).trim();
          else {
            const [field, ...rest] = line.split(': ');
            const value = rest.join(': ');
            if (field === 'id' || field === 'event' || field === 'data') message[field] = value;
          }
        }
        return message;
      }
      const chunk = await chunks.next().catch(() => ({ done: true, value: '' }));
      if (chunk.done) return null;
      buffer += String(chunk.value);
    }
  };
  /** The next message that is not a heartbeat comment. */
  const nextMessage = async (): Promise<SseMessage | null> => {
    for (;;) {
      const message = await next();
      if (message?.comment === undefined) return message;
    }
  };
  return { response, next, nextMessage, close: () => request.destroy() };
}

const unit = { team: 'main', pipeline: 'app', job: 'unit' };
const log = (payload: string) =>
  ({ event: 'log', data: { origin: { id: 'task', source: 'stdout' }, payload, time: 1700000000 } }) as const;

async function setUp(world: InMemoryApiServices): Promise<number> {
  await world.services.pipelines.setConfig(
    { team: 'main', pipeline: 'app' },
    { config: samplePipeline, by: 'admin' },
  );
  return world.createJobBuild(unit).id;
}

describe('GET /builds/:id/events over a socket', () => {
  let app: FastifyInstance;
  let world: InMemoryApiServices;
  let url: string;
  let buildId: number;
  const streams: Array<{ close(): void }> = [];

  beforeEach(async () => {
    ({ app, world, url } = await listeningWorldApi({ sseHeartbeatMs: 25 }));
    buildId = await setUp(world);
  });
  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.close();
    await app.close();
  });

  const open = async (query = '', headers: Record<string, string> = {}) => {
    const stream = await openStream(`${url}/api/v1/builds/${buildId}/events${query}`, headers);
    streams.push(stream);
    return stream;
  };

  it('sends Concourse’s wire format: event messages with their index, then end', async () => {
    world.startBuild(buildId);
    world.appendEvent(buildId, log('hello\n'));
    world.finishBuild(buildId, 'succeeded');

    const stream = await open();
    expect(stream.response.statusCode).toBe(200);
    expect(stream.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.response.headers['cache-control']).toBe('no-cache, no-store, must-revalidate');
    expect(stream.response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    const started = await stream.nextMessage();
    expect(started).toMatchObject({ id: '0', event: 'event' });
    expect(JSON.parse(started?.data ?? '')).toEqual({
      event: 'status',
      version: '1.0',
      data: { status: 'started', time: expect.any(Number) },
    });
    const logged = await stream.nextMessage();
    expect(logged?.raw).toBe(
      'id: 1\nevent: event\ndata: {"event":"log","version":"5.1","data":{"origin":{"id":"task","source":"stdout"},"payload":"hello\\n","time":1700000000}}',
    );
    const finished = await stream.nextMessage();
    expect(finished?.id).toBe('2');
    expect(JSON.parse(finished?.data ?? '').data.status).toBe('succeeded');
    expect((await stream.nextMessage())?.raw).toBe('id: 3\nevent: end\ndata: ');
  });

  it('starts at ?from=, skipping the events before it', async () => {
    world.startBuild(buildId);
    world.appendEvent(buildId, log('one'));
    world.appendEvent(buildId, log('two'));
    world.finishBuild(buildId, 'failed');

    const stream = await open('?from=2');
    const first = await stream.nextMessage();
    expect(first?.id).toBe('2');
    expect(JSON.parse(first?.data ?? '').data.payload).toBe('two');
    expect((await stream.nextMessage())?.id).toBe('3');
    expect(await stream.nextMessage()).toMatchObject({ id: '4', event: 'end' });
  });

  it('resumes after Last-Event-ID, which wins over ?from=', async () => {
    world.startBuild(buildId);
    world.appendEvent(buildId, log('one'));
    world.appendEvent(buildId, log('two'));
    world.finishBuild(buildId, 'succeeded');

    const stream = await open('?from=0', { 'last-event-id': '1' });
    const first = await stream.nextMessage();
    expect(first?.id).toBe('2');
    expect(JSON.parse(first?.data ?? '').data.payload).toBe('two');
  });

  it('sends events stored after the client connected, then end when the build finishes', async () => {
    world.startBuild(buildId);
    const stream = await open();
    expect((await stream.nextMessage())?.id).toBe('0');

    world.appendEvent(buildId, log('live'));
    const live = await stream.nextMessage();
    expect(live?.id).toBe('1');
    expect(JSON.parse(live?.data ?? '').data.payload).toBe('live');

    world.finishBuild(buildId, 'succeeded');
    expect((await stream.nextMessage())?.id).toBe('2');
    expect(await stream.nextMessage()).toMatchObject({ id: '3', event: 'end' });
    // The iteration is over: the subscription is released even though the client stays.
    await vi.waitFor(() => expect(world.openSubscriptions).toBe(0));
  });

  it('a client that reconnects with Last-Event-ID misses nothing stored while it was away', async () => {
    world.startBuild(buildId);
    const first = await open();
    expect((await first.nextMessage())?.id).toBe('0');
    first.close();
    await vi.waitFor(() => expect(world.openSubscriptions).toBe(0));

    world.appendEvent(buildId, log('while away'));
    const second = await open('', { 'last-event-id': '0' });
    const missed = await second.nextMessage();
    expect(missed?.id).toBe('1');
    expect(JSON.parse(missed?.data ?? '').data.payload).toBe('while away');
  });

  it('sends heartbeat comments while the build is quiet', async () => {
    world.startBuild(buildId);
    const stream = await open();
    expect((await stream.next())?.id).toBe('0');
    // Nothing else happens to the build, so what comes next can only be a heartbeat.
    expect(await stream.next()).toEqual({ comment: 'heartbeat', raw: ': heartbeat' });
  });

  it('releases the subscription when the client disconnects', async () => {
    world.startBuild(buildId);
    const stream = await open();
    expect((await stream.nextMessage())?.id).toBe('0');
    expect(world.openSubscriptions).toBe(1);

    stream.close();
    await vi.waitFor(() => expect(world.openSubscriptions).toBe(0));
  });

  it('ends open streams when the server closes, so close() does not hang', async () => {
    world.startBuild(buildId);
    const stream = await open();
    expect((await stream.nextMessage())?.id).toBe('0');

    await app.close();
    expect(world.openSubscriptions).toBe(0);
    // The client sees the stream end (and an EventSource would reconnect elsewhere).
    expect(await stream.nextMessage()).toBeNull();
  });
});

describe('GET /builds/:id/events errors', () => {
  let app: FastifyInstance;
  let world: InMemoryApiServices;
  beforeEach(async () => {
    ({ app, world } = await worldApi());
  });
  afterEach(async () => {
    await app.close();
  });

  it('answers 404 CC_E_API_BUILD_NOT_FOUND before streaming anything', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/builds/999/events', headers: authed });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json().code).toBe('CC_E_API_BUILD_NOT_FOUND');
    expect(world.openSubscriptions).toBe(0);
  });

  it.each([
    ['a Last-Event-ID that is not an index', { 'last-event-id': 'abc' }, '', 'headers.last-event-id'],
    ['a negative from', {}, '?from=-1', 'querystring.from'],
  ])('answers 400 for %s', async (_, headers, query, field) => {
    const buildId = await setUp(world);
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/builds/${buildId}/events${query}`,
      headers: { ...authed, ...headers },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'CC_E_API_BAD_REQUEST', details: { field } });
  });
});
