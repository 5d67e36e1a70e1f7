import type { MessagePort } from 'node:worker_threads';
import type { HostMethods } from './generated/methods.generated.js';
import type { TerminalSize } from './generated/runtime.generated.js';
import type { PortMessage, SerializedError } from './generated/worker.generated.js';
import { PluginError } from './plugin-error.js';

/**
 * The host's services to a plugin during a call (plugin-api/schemas/host.json). Each rejects with
 * a PluginError whose code says why: `HOST_SERVICE_UNAVAILABLE` when the host offers the call no
 * such service, or the host's own code when the service failed.
 */
export type HostServices = {
  readonly [M in keyof HostMethods]: (
    request: HostMethods[M]['request'],
  ) => Promise<HostMethods[M]['response']>;
};

/** What a plugin method gets besides its request: its configuration and the call's streams. */
export interface CallContext<Config = Record<string, unknown>> {
  readonly config: Config;
  /** True when the caller asked for streaming; without it output and bytes are dropped. */
  readonly streaming: boolean;
  /** A chunk of a process's stdout or stderr, passed on as build output. */
  output(stream: 'stdout' | 'stderr', data: string): void;
  /** A line of the plugin's own log. */
  log(message: string): void;
  /** Send a chunk of a byte stream to the caller (a tar of a volume). */
  write(chunk: Uint8Array): void;
  /** Close the byte stream to the caller. */
  end(): void;
  /** The byte stream the caller sends (stdin, a tar to extract), ending when the caller ends it. */
  read(): AsyncIterable<Uint8Array>;
  /**
   * Calls `listener` with each new size of the caller's terminal, for a `run` of a `tty` process
   * (its first size is the request's `process.ttySize`). A size that came before any listener was
   * added is not lost: the latest one is given to a listener as it is added. Returns a function
   * that removes the listener. Calls without a port never resize.
   */
  onResize(listener: (size: TerminalSize) => void): () => void;
  /**
   * Aborts when the caller gives up on the call (its timeout passed, or it was cancelled). A plugin
   * that runs several calls per worker (`limits.concurrentCallsPerWorker` > 1) must stop work when
   * it aborts: the host cannot terminate the worker without failing the other calls in it.
   */
  readonly signal: AbortSignal;
  /**
   * What the host does for the plugin (run a process in a container of the host's runtime, for a
   * resource type defined by a Concourse image). Only where the caller bound the call to them.
   */
  readonly host: HostServices;
}

// Calls without a port can never be cancelled cooperatively (the host terminates their worker).
const neverAborted = new AbortController().signal;

/**
 * Build a CallContext over a call's MessagePort (or none). The host and the conformance kit both
 * use this, so a plugin sees the same context in tests as in production.
 */
export function createCallContext<Config>(
  config: Config,
  port: MessagePort | undefined,
): CallContext<Config> {
  const post = (message: PortMessage, transfer?: ArrayBuffer[]) => port?.postMessage(message, transfer);
  let signal = neverAborted;
  let incoming: IncomingBytes | undefined;
  const resizes = new Resizes();
  const hostCalls = new HostCalls(port, post);
  if (port) {
    const controller = new AbortController();
    signal = controller.signal;
    const bytes = new IncomingBytes();
    incoming = bytes;
    // One listener from the start: a listener starts the port, and any message it does not keep
    // (bytes sent before the plugin calls read()) would be lost.
    port.on('message', (message: PortMessage) => {
      if (message.type === 'cancel')
        controller.abort(new Error(`the call was cancelled (${message.reason})`));
      else if (message.type === 'data') bytes.push(message.chunk);
      else if (message.type === 'end') bytes.end();
      else if (message.type === 'resize') resizes.push({ columns: message.columns, rows: message.rows });
      else if (message.type === 'host-reply')
        hostCalls.settle(message.id, message.ok, message.value, message.error);
    });
  }
  return {
    config,
    signal,
    streaming: port !== undefined,
    output: (stream, data) => post({ type: 'output', stream, data }),
    log: (message) => post({ type: 'output', stream: 'log', data: message }),
    write(chunk) {
      if (!port) return;
      // Copy before transferring: a Buffer may be a view into a pool shared with other Buffers.
      const copy = new Uint8Array(chunk);
      post({ type: 'data', chunk: copy }, [copy.buffer as ArrayBuffer]);
    },
    end: () => post({ type: 'end' }),
    read: () => incoming?.read() ?? noBytes(),
    onResize: (listener) => resizes.listen(listener),
    host: { run: (request) => hostCalls.call('run', request) },
  };
}

/** The plugin's end of host service calls: each a `host-call` answered by a `host-reply`. */
class HostCalls {
  readonly #port: MessagePort | undefined;
  readonly #post: (message: PortMessage) => void;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  #next = 0;

  constructor(port: MessagePort | undefined, post: (message: PortMessage) => void) {
    this.#port = port;
    this.#post = post;
  }

  call<M extends keyof HostMethods>(
    method: M,
    request: HostMethods[M]['request'],
  ): Promise<HostMethods[M]['response']> {
    if (!this.#port) {
      return Promise.reject(
        new PluginError(
          'HOST_SERVICE_UNAVAILABLE',
          `the host offers this call no services (host.${method} needs a call the host bound to them)`,
        ),
      );
    }
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#post({ type: 'host-call', id, method, params: request });
    });
  }

  settle(id: number, ok: boolean, value: unknown, error: SerializedError | undefined): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    if (ok) pending.resolve(value);
    else
      pending.reject(
        new PluginError(error?.code ?? 'HOST_SERVICE_FAILED', error?.message ?? 'the host service failed'),
      );
  }
}

/** The terminal sizes a caller sends: given to the listeners, the latest kept for late ones. */
class Resizes {
  readonly #listeners = new Set<(size: TerminalSize) => void>();
  #latest: TerminalSize | undefined;

  push(size: TerminalSize): void {
    this.#latest = size;
    for (const listener of this.#listeners) listener(size);
  }

  listen(listener: (size: TerminalSize) => void): () => void {
    this.#listeners.add(listener);
    if (this.#latest) listener(this.#latest);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}

/** The byte stream a caller sends, buffered from the moment the call starts. */
class IncomingBytes {
  readonly #queue: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  push(chunk: Uint8Array): void {
    this.#queue.push(chunk);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *read(): AsyncGenerator<Uint8Array> {
    while (true) {
      const chunk = this.#queue.shift();
      if (chunk) {
        yield chunk;
      } else if (this.#ended) {
        return;
      } else {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
      }
    }
  }
}

async function* noBytes(): AsyncGenerator<Uint8Array> {}
