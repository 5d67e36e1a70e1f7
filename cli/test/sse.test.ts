import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readSse, SseParser, SseStreamClosed } from '../src/watch/index.js';
import {
  adminToken,
  type CuttableProxy,
  startApi,
  startCc,
  startCuttableProxy,
  type TestApi,
  tempHome,
} from './helpers.js';

describe('the SSE parser', () => {
  const stream =
    '\uFEFF: heartbeat\r\nid: 0\r\nevent: event\r\ndata: {"a":1}\r\n\r\n' +
    'id: 1\nevent: event\ndata: line one\ndata: line two\n\n' +
    'event: ignored-without-data\n\n' +
    'data:no space\r\r' +
    'id: 7\nevent: end\ndata: \n\n';

  const expected = [
    { lastEventId: '0', event: 'event', data: '{"a":1}' },
    { lastEventId: '1', event: 'event', data: 'line one\nline two' },
    // An id persists until another is set.
    { lastEventId: '1', event: 'message', data: 'no space' },
    { lastEventId: '7', event: 'end', data: '' },
  ];

  it('parses a whole stream: CRLF, CR and LF lines, comments, multi-line data, the BOM', () => {
    expect(new SseParser().push(new TextEncoder().encode(stream))).toEqual(expected);
  });

  it('gives the same messages however the bytes are split, even inside a CRLF or a character', () => {
    const bytes = new TextEncoder().encode(stream.replace('line one', 'line één'));
    const want = expected.map((m) => (m.data.startsWith('line') ? { ...m, data: 'line één\nline two' } : m));
    for (let size = 1; size <= 7; size++) {
      const parser = new SseParser();
      const got = [];
      for (let i = 0; i < bytes.length; i += size) got.push(...parser.push(bytes.subarray(i, i + size)));
      expect(got, `chunks of ${size}`).toEqual(want);
    }
  });

  it('resumes with the id it was given until the stream sets one', () => {
    const parser = new SseParser('41');
    expect(parser.push(new TextEncoder().encode('data: x\n\n'))).toEqual([
      { lastEventId: '41', event: 'message', data: 'x' },
    ]);
  });
});

/** A fake stream body: the chunks, then (with `stall`) silence until the connection is aborted. */
function body(chunks: string[], signal: AbortSignal, stall: boolean): AsyncIterable<Uint8Array> {
  return (async function* () {
    for (const chunk of chunks) yield new TextEncoder().encode(chunk);
    if (stall) {
      await new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
      );
    }
  })();
}

describe('readSse', () => {
  it('replaces a connection that falls silent, resuming after the last id', async () => {
    const asked: Array<string | undefined> = [];
    const streams = [['id: 0\ndata: a\n\n'], ['id: 1\ndata: b\n\n']];
    const messages = readSse(
      async (lastEventId, signal) => {
        asked.push(lastEventId);
        return body(streams[asked.length - 1] ?? [], signal, true);
      },
      { isRetryable: () => false, idleTimeoutMs: 50, retryDelayMs: 1 },
    );
    const got: string[] = [];
    for await (const message of messages) {
      got.push(message.data);
      if (got.length === 2) break;
    }
    expect(got).toEqual(['a', 'b']);
    expect(asked).toEqual([undefined, '0']);
  });

  it('throws the first failure at once, before any connection succeeded', async () => {
    const refused = new Error('refused');
    const messages = readSse(
      async () => {
        throw refused;
      },
      { isRetryable: () => true, retryDelayMs: 1 },
    );
    await expect(messages.next()).rejects.toBe(refused);
  });

  it('gives up after maxRetries failures in a row, and reports a reconnection each time', async () => {
    let opens = 0;
    const reconnects: unknown[] = [];
    const down = new Error('down');
    const messages = readSse(
      async (_, signal) => {
        opens++;
        if (opens > 1) throw down;
        return body(['data: only\n\n'], signal, false);
      },
      { isRetryable: () => true, maxRetries: 2, retryDelayMs: 1, onReconnect: (_, e) => reconnects.push(e) },
    );
    expect((await messages.next()).value).toMatchObject({ data: 'only' });
    await expect(messages.next()).rejects.toBe(down);
    expect(opens).toBe(3);
    expect(reconnects[0]).toBeInstanceOf(SseStreamClosed);
    expect(reconnects).toEqual([reconnects[0], down]);
  });
});

describe('cc watch over a connection that drops', () => {
  let api: TestApi;
  let proxy: CuttableProxy;
  let env: Record<string, string>;
  let cleanupHome: () => Promise<void>;

  beforeAll(async () => {
    api = await startApi();
    proxy = await startCuttableProxy(api.url);
    const { home, cleanup } = await tempHome();
    cleanupHome = cleanup;
    env = { CONVEYOR_HOME: home, CONVEYOR_URL: proxy.url, CONVEYOR_TOKEN: adminToken };
    await api.world.services.pipelines.setConfig(
      { team: 'main', pipeline: 'app' },
      { config: 'jobs:\n  - name: unit\n    plan: []\n', by: 'test' },
    );
  });
  afterAll(async () => {
    await proxy.close();
    await api.close();
    await cleanupHome();
  });

  it('resumes from Last-Event-ID and prints every line exactly once', async () => {
    const build = api.world.createJobBuild({ team: 'main', pipeline: 'app', job: 'unit' });
    api.world.startBuild(build.id);
    const log = (n: number) =>
      api.world.appendEvent(build.id, {
        event: 'log',
        data: { origin: { id: 'task', source: 'stdout' }, payload: `line ${n}\n`, time: 1 },
      });
    log(1);
    log(2);
    const third = log(3);

    const watching = startCc(['watch', '-b', String(build.id)], env);
    await watching.waitFor(/line 3\n/);
    // 1. The connection drops while the build runs on; 2. more happens while it is down.
    proxy.cut();
    log(4);
    log(5);
    api.world.finishBuild(build.id, 'succeeded');

    expect(await watching.exited).toBe(0);
    expect(watching.stdout()).toBe('line 1\nline 2\nline 3\nline 4\nline 5\nsucceeded\n');
    expect(watching.stderr()).toMatch(/event stream interrupted .*; resuming \(attempt 1\)/);
    const streams = proxy
      .requests()
      .filter((head) => head.startsWith(`GET /api/v1/builds/${build.id}/events`));
    expect(streams).toHaveLength(2);
    expect(streams[0]?.toLowerCase()).not.toContain('last-event-id');
    expect(streams[1]?.toLowerCase()).toContain(`last-event-id: ${third}`);
    // The server released both subscriptions once the connections closed.
    await vi.waitFor(() => expect(api.world.openSubscriptions).toBe(0));
  });
});
