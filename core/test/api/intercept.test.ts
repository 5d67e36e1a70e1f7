import type { IncomingMessage } from 'node:http';
import type { Container, InterceptRequest } from '@conveyor/core/api';
import type { InMemoryApiServices } from '@conveyor/test/harness/api-services.js';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { authed, listeningWorldApi, samplePipeline } from './helpers.js';

/*
 * The intercept route's protocol, over a real socket: refusals before the upgrade as HTTP errors,
 * then frames both ways. The in-memory world stands in for the runtime (its interceptProcess);
 * core/test/server/services/intercept.test.ts runs real processes in the local runtime.
 */

let app: FastifyInstance;
let world: InMemoryApiServices;
let wsUrl: string;
const unit = { team: 'main', pipeline: 'app', job: 'unit' };

function container(buildId: number, step: string, handle: string): Container {
  return {
    handle,
    worker_name: 'local',
    runtime: 'local',
    state: 'created',
    team_name: 'main',
    build_id: buildId,
    build_name: '1',
    pipeline_name: 'app',
    job_name: 'unit',
    plan_id: step === 'compile' ? '2' : '3',
    step_name: step,
    type: 'task',
    created_at: 1_700_000_000,
  };
}

interface Session {
  socket: WebSocket;
  /** Text frames as parsed JSON, binary frames as `[stream byte, text]`. */
  frames: Array<Record<string, unknown> | [number, string]>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens an intercept socket; rejects with the HTTP status and body if the server refuses the upgrade. */
function open(path: string, headers: Record<string, string> = authed): Promise<Session> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${wsUrl}${path}`, { headers });
    const frames: Session['frames'] = [];
    socket.on('message', (data: Buffer, isBinary) => {
      frames.push(isBinary ? [data[0] ?? -1, data.subarray(1).toString()] : JSON.parse(data.toString()));
    });
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      socket.on('close', (code, reason) => done({ code, reason: reason.toString() })),
    );
    socket.once('open', () => resolve({ socket, frames, closed }));
    socket.once('unexpected-response', (_request, response: IncomingMessage) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () =>
        reject(Object.assign(new Error('refused'), { status: response.statusCode, body: JSON.parse(body) })),
      );
    });
    socket.once('error', (error) => reject(error));
  });
}

async function refusal(path: string, headers?: Record<string, string>) {
  const error = await open(path, headers).then(
    () => {
      throw new Error('the upgrade was accepted');
    },
    (e: unknown) =>
      e as { status: number; body: { code: string; message: string; details?: Record<string, unknown> } },
  );
  return error;
}

let buildId: number;
beforeEach(async () => {
  let url: string;
  ({ app, world, url } = await listeningWorldApi());
  wsUrl = url.replace(/^http/, 'ws');
  await world.services.pipelines.setConfig(
    { team: 'main', pipeline: 'app' },
    { config: samplePipeline, by: 'a' },
  );
  buildId = world.createJobBuild(unit).id;
  world.startBuild(buildId);
  world.addContainer(container(buildId, 'compile', 'b1-c-a'));
});
afterEach(async () => {
  await app.close();
});

describe('the intercept route refuses before the upgrade', () => {
  it('without a token, with 401, as every other route', async () => {
    const error = await refusal(`/api/v1/builds/${buildId}/intercept`, {});
    expect(error.status).toBe(401);
    expect(error.body.code).toBe('CC_E_API_UNAUTHORIZED');
    const wrong = await refusal(`/api/v1/builds/${buildId}/intercept`, {
      authorization: 'Bearer cc_wrong_123456',
    });
    expect(wrong.status).toBe(401);
  });

  it('a request that is not an upgrade, with 426', async () => {
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/builds/${buildId}/intercept`,
      headers: authed,
    });
    expect(res.statusCode).toBe(426);
    expect(res.json().code).toBe('CC_E_API_WEBSOCKET_REQUIRED');
  });

  it('a build without such a container, with 404; several, with 409 listing them', async () => {
    const none = await refusal(`/api/v1/builds/${buildId}/intercept?step=deploy`);
    expect(none.status).toBe(404);
    expect(none.body.code).toBe('CC_E_API_CONTAINER_NOT_FOUND');
    expect(none.body.message).toContain('step "deploy"');

    world.addContainer(container(buildId, 'test', 'b1-c-b'));
    const several = await refusal(`/api/v1/builds/${buildId}/intercept`);
    expect(several.status).toBe(409);
    expect(several.body.code).toBe('CC_E_API_INTERCEPT_AMBIGUOUS');
    expect(several.body.details?.containers).toEqual([
      { handle: 'b1-c-a', plan_id: '2', step_name: 'compile', type: 'task' },
      { handle: 'b1-c-b', plan_id: '3', step_name: 'test', type: 'task' },
    ]);
  });

  it('a terminal the runtime cannot give, with 422; and a malformed query, with 400', async () => {
    const tty = await refusal(`/api/v1/builds/${buildId}/intercept?tty=true`);
    expect(tty.status).toBe(422);
    expect(tty.body.code).toBe('CC_E_API_TTY_UNSUPPORTED');
    expect(tty.body.message).toContain('containerd');
    const bad = await refusal(`/api/v1/builds/${buildId}/intercept?columns=0`);
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('CC_E_API_BAD_REQUEST');
  });
});

describe('an intercept session', () => {
  it('carries stdin and resizes in, output and the exit status out, then closes', async () => {
    let seen: InterceptRequest | undefined;
    world.interceptTty = true;
    world.interceptProcess = async (_container, request, io) => {
      seen = request;
      for await (const item of io.input) {
        if (item instanceof Uint8Array) io.onOutput('stdout', `read ${Buffer.from(item).toString()}`);
        else io.onOutput('stderr', `size ${item.columns}x${item.rows}`);
      }
      return { exitStatus: 3 };
    };
    const session = await open(
      `/api/v1/builds/${buildId}/intercept?step=compile&command=cat&command=marker&tty=true&columns=80&rows=24&term=xterm`,
    );
    session.socket.send(Buffer.from('hello'));
    session.socket.send(JSON.stringify({ type: 'resize', columns: 100, rows: 30 }));
    session.socket.send(JSON.stringify({ type: 'stdin-end' }));
    expect(await session.closed).toEqual({ code: 1000, reason: 'exited' });
    expect(session.frames).toEqual([[1, 'read hello'], [2, 'size 100x30'], { type: 'exit', exit_status: 3 }]);
    expect(seen).toEqual({
      buildId,
      step: 'compile',
      command: ['cat', 'marker'],
      tty: true,
      ttySize: { columns: 80, rows: 24 },
      term: 'xterm',
    });
  });

  it('stops the process when the client closes the socket', async () => {
    let stopped!: () => void;
    const stop = new Promise<void>((resolve) => {
      stopped = resolve;
    });
    world.interceptProcess = async (_container, _request, io) => {
      await new Promise<void>((resolve) =>
        io.signal.addEventListener('abort', () => resolve(), { once: true }),
      );
      stopped();
      return { exitStatus: 143, signal: 'SIGTERM' };
    };
    const session = await open(`/api/v1/builds/${buildId}/intercept`);
    session.socket.close();
    await stop;
    await session.closed;
  });

  it('answers a frame it does not know with an error, and closes', async () => {
    world.interceptProcess = async (_container, _request, io) => {
      for await (const _ of io.input);
      return { exitStatus: 0 };
    };
    const session = await open(`/api/v1/builds/${buildId}/intercept`);
    session.socket.send(JSON.stringify({ type: 'signal', name: 'INT' }));
    expect((await session.closed).code).toBe(1011);
    expect(session.frames[0]).toMatchObject({ type: 'error', code: 'CC_E_API_BAD_REQUEST' });
  });

  it('reports a process the runtime could not run as an error frame with its code', async () => {
    world.interceptProcess = undefined;
    const session = await open(`/api/v1/builds/${buildId}/intercept`);
    expect((await session.closed).code).toBe(1011);
    expect(session.frames).toEqual([expect.objectContaining({ type: 'error', code: 'CC_E_INTERNAL' })]);
  });
});
