import type { WebSocket } from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ConveyorError } from '../../errors/index.js';
import { toErrorReply } from '../error-handler.js';
import type { BuildParams } from '../generated/build-params.generated.js';
import type { InterceptMessage } from '../generated/intercept-message.generated.js';
import type { InterceptQuery } from '../generated/intercept-query.generated.js';
import { refs } from '../schemas.js';
import type { InterceptRequest, PreparedIntercept, TerminalSize } from '../services.js';
import type { ApiDeps } from '../types.js';

/** The first byte of a binary frame from the server: which stream the rest is. */
const kStreamByte = { stdout: 1, stderr: 2 } as const;
/** Proxies drop a WebSocket idle for 30-60 s; a shell waiting for its user is idle. */
const kPingMs = 15_000;
/** A terminal's side, as the plugin contract bounds it. */
const kMaxCells = 65_535;

/**
 * `cc intercept`, like fly's: a process in the container of a build's step, over a WebSocket.
 * Everything that can refuse (auth, the query, which container, whether the runtime has
 * terminals) is decided before the upgrade, so refusals are plain HTTP errors; once upgraded, the
 * frames are those of core/api/schemas/intercept-message.json.
 */
export async function interceptRoutes(app: FastifyInstance, { deps }: { deps: ApiDeps }): Promise<void> {
  // What preHandler found, for the WebSocket handler of the same request.
  const prepared = new WeakMap<FastifyRequest, PreparedIntercept>();

  app.route<{ Params: BuildParams; Querystring: InterceptQuery }>({
    method: 'GET',
    url: '/builds/:id/intercept',
    // A HEAD could never be upgraded.
    exposeHeadRoute: false,
    schema: {
      operationId: 'interceptBuild',
      summary: "Run a process in the container of a build's step (WebSocket)",
      description:
        "Upgrade to a WebSocket; the process runs in the container's working directory with its environment. Binary frames from the client are the process's stdin; binary frames from the server are one stream byte (1 stdout, 2 stderr) and the output. Text frames are InterceptMessage JSON: the client sends `resize` and `stdin-end`, the server ends with `exit` (or `error`) and closes. Closing the socket kills the process, never the step. Refusals come before the upgrade as HTTP errors: `CC_E_API_CONTAINER_NOT_FOUND`, `CC_E_API_INTERCEPT_AMBIGUOUS` (name a `step` or `container`), `CC_E_API_TTY_UNSUPPORTED`.",
      tags: ['builds'],
      params: refs.buildParams,
      querystring: refs.interceptQuery,
      response: {
        101: {
          description: 'Switching Protocols: the WebSocket is open and the process starts.',
          content: { 'application/json': { schema: refs.interceptMessage } },
        },
      },
    },
    preHandler: async (request) => {
      // @fastify/websocket marks requests that came as an upgrade.
      if (!request.ws) {
        throw new ConveyorError(
          'CC_E_API_WEBSOCKET_REQUIRED',
          `GET /api/v1/builds/${request.params.id}/intercept speaks WebSocket only: send it as an upgrade (\`cc intercept\` does)`,
        );
      }
      prepared.set(request, await deps.intercept.prepare(interceptRequest(request.params, request.query)));
    },
    // Reached only by a request that is not an upgrade, which preHandler already refused.
    handler: async () => {
      throw new ConveyorError('CC_E_API_WEBSOCKET_REQUIRED', 'this route speaks WebSocket only');
    },
    wsHandler: (socket, request) => {
      const session = prepared.get(request);
      prepared.delete(request);
      if (session === undefined) {
        socket.close(1011, 'no intercept was prepared');
        return;
      }
      serve(socket, session, request);
    },
  });
}

function interceptRequest(params: BuildParams, query: InterceptQuery): InterceptRequest {
  const request: InterceptRequest = {
    buildId: params.id,
    // The schema's default fills it in; the fallback only satisfies the type.
    command: query.command ?? ['sh'],
    tty: query.tty === true,
  };
  if (query.step !== undefined) request.step = query.step;
  if (query.container !== undefined) request.container = query.container;
  if (request.tty && query.columns !== undefined && query.rows !== undefined) {
    request.ttySize = { columns: query.columns, rows: query.rows };
  }
  if (request.tty && query.term !== undefined) request.term = query.term;
  return request;
}

/** Runs the process and carries its stdin, resizes, output and exit over the socket. */
function serve(socket: WebSocket, session: PreparedIntercept, request: FastifyRequest): void {
  const gone = new AbortController();
  const input = new InputQueue();
  const send = (message: InterceptMessage) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  };
  const fail = (error: ConveyorError | unknown) => {
    const { status, body } = toErrorReply(error, request.id);
    if (status >= 500) request.log.error({ err: error, code: body.code }, 'intercept failed');
    send({
      type: 'error',
      code: body.code,
      message: body.message,
      ...(body.details ? { details: body.details } : {}),
    });
    socket.close(1011, 'intercept failed');
  };

  socket.on('message', (data, isBinary) => {
    if (isBinary) {
      input.push(toBuffer(data));
      return;
    }
    const message = clientMessage(toBuffer(data).toString('utf8'));
    if (message === null) {
      fail(
        new ConveyorError(
          'CC_E_API_BAD_REQUEST',
          'invalid intercept frame: a text frame must be {"type":"resize","columns":N,"rows":N} or {"type":"stdin-end"}; stdin goes in binary frames',
        ),
      );
      return;
    }
    if (message === 'stdin-end') input.end();
    else input.push(message);
  });
  socket.on('close', () => {
    gone.abort();
    input.end();
  });
  const ping = setInterval(() => {
    if (socket.readyState === socket.OPEN) socket.ping();
  }, kPingMs);

  session
    .run({
      input,
      signal: gone.signal,
      onOutput: (stream, data) => {
        if (socket.readyState !== socket.OPEN) return;
        socket.send(Buffer.concat([Buffer.of(kStreamByte[stream]), Buffer.from(data, 'utf8')]));
      },
    })
    .then(
      ({ exitStatus, signal }) => {
        send({ type: 'exit', exit_status: exitStatus, ...(signal === undefined ? {} : { signal }) });
        socket.close(1000, 'exited');
      },
      (error: unknown) => fail(error),
    )
    .finally(() => clearInterval(ping));
}

/** A text frame from the client, or null if it is none the protocol knows. */
function clientMessage(text: string): TerminalSize | 'stdin-end' | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const message = value as Record<string, unknown>;
  if (message.type === 'stdin-end') return 'stdin-end';
  if (message.type === 'resize' && isCells(message.columns) && isCells(message.rows)) {
    return { columns: message.columns, rows: message.rows };
  }
  return null;
}

function isCells(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= kMaxCells;
}

function toBuffer(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}

/** What the client sends, queued for the runtime as it reads it: stdin bytes and terminal sizes. */
class InputQueue implements AsyncIterable<Uint8Array | TerminalSize> {
  readonly #items: Array<Uint8Array | TerminalSize> = [];
  #ended = false;
  #wake: (() => void) | undefined;

  push(item: Uint8Array | TerminalSize): void {
    if (this.#ended) return;
    this.#items.push(item);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array | TerminalSize> {
    for (;;) {
      const item = this.#items.shift();
      if (item !== undefined) yield item;
      else if (this.#ended) return;
      else {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
      }
    }
  }
}
