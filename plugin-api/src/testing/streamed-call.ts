import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { PluginDefinition } from '../define-plugin.js';
import type { HostMethods } from '../generated/methods.generated.js';
import type { CallOutcome, PortMessage, ResizeMessage } from '../generated/worker.generated.js';
import { PluginError } from '../plugin-error.js';
import { runPluginCall, serializeError } from '../run-call.js';

export type OutputStream = 'stdout' | 'stderr' | 'log';

/** One `output` message of a call: a chunk of a process's stdout/stderr, or a line of the plugin's log. */
export interface OutputChunk {
  stream: OutputStream;
  data: string;
}

export interface StreamOptions {
  /** Called with each output chunk as it arrives, e.g. to act once a process has started. */
  onOutput?: ((chunk: OutputChunk) => void) | undefined;
  /** Called with each chunk of the byte stream the plugin writes, as it arrives. */
  onData?: ((chunk: Uint8Array) => void) | undefined;
  /**
   * The byte stream sent to the plugin (stdin, a tar to extract); `end` follows its last chunk. A
   * `{ type: 'resize', columns, rows }` item among the chunks is sent as a resize message, as the
   * host sends a terminal's new size to a `tty` process.
   */
  input?: AsyncIterable<Uint8Array | ResizeMessage> | Iterable<Uint8Array | ResizeMessage> | undefined;
  /** Keep the bytes the plugin writes and return them as `bytes` (default true). */
  collectBytes?: boolean | undefined;
  /**
   * Give the call a port (default true). With false the plugin sees `streaming: false`, as when
   * the host calls without streaming, and its output and bytes go nowhere.
   */
  streaming?: boolean | undefined;
  /**
   * The host services the call is offered (`context.host`), as a host would bind them, e.g. a
   * `run` that runs the process in a container the test controls. Absent: the plugin's requests
   * fail with HOST_SERVICE_UNAVAILABLE, as with a host that offers none.
   */
  host?: TestHostServices | undefined;
}

/** Host services for a call under test: method → what it answers. */
export type TestHostServices = {
  readonly [M in keyof HostMethods]?: (
    request: HostMethods[M]['request'],
  ) => Promise<HostMethods[M]['response']>;
};

export interface StreamedOutcome {
  outcome: CallOutcome;
  output: OutputChunk[];
  bytes: Buffer;
  /** The plugin closed its byte stream with `end()`. */
  ended: boolean;
}

/**
 * Run one call the way the host does: the plugin gets one end of a real MessageChannel, the kit
 * holds the other, gathers what the plugin sends and feeds it `input`.
 */
export async function runStreamedCall(
  definition: PluginDefinition,
  config: Record<string, unknown>,
  method: string,
  params: Record<string, unknown>,
  options: StreamOptions,
): Promise<StreamedOutcome> {
  const output: OutputChunk[] = [];
  const chunks: Buffer[] = [];
  const collect = options.collectBytes ?? true;
  if (options.streaming === false) {
    if (options.input) throw new TypeError('input needs a port: do not combine it with streaming: false');
    const outcome = await runPluginCall(definition, config, { method, params });
    return { outcome, output, bytes: Buffer.alloc(0), ended: false };
  }

  const { port1: ours, port2: theirs } = new MessageChannel();
  let ended = false;
  let isClosed = false;
  // A throwing callback must fail the call, not crash the test process from inside an event handler.
  let callbackError: { error: unknown } | undefined;
  const closed = new Promise<void>((resolve) =>
    ours.once('close', () => {
      isClosed = true;
      resolve();
    }),
  );
  ours.on('message', (message: PortMessage) => {
    try {
      if (message.type === 'output') {
        const chunk: OutputChunk = { stream: message.stream, data: message.data };
        output.push(chunk);
        options.onOutput?.(chunk);
      } else if (message.type === 'data') {
        if (collect) chunks.push(Buffer.from(message.chunk));
        options.onData?.(message.chunk);
      } else if (message.type === 'end') {
        ended = true;
      } else if (message.type === 'host-call') {
        const reply = (ok: boolean, value: unknown, error?: unknown) => {
          if (isClosed) return;
          ours.postMessage({
            type: 'host-reply',
            id: message.id,
            ok,
            ...(ok ? { value } : { error: serializeError(error) }),
          } satisfies PortMessage);
        };
        const handler = (options.host as Record<string, (r: unknown) => Promise<unknown>> | undefined)?.[
          message.method
        ];
        if (!handler) {
          reply(
            false,
            undefined,
            new PluginError('HOST_SERVICE_UNAVAILABLE', `host.${message.method} is not offered`),
          );
        } else {
          handler(message.params).then(
            (value) => reply(true, value),
            (error: unknown) => reply(false, undefined, error),
          );
        }
      }
    } catch (error) {
      callbackError ??= { error };
    }
  });

  let inputError: { error: unknown } | undefined;
  if (options.input) {
    feed(options.input, ours, () => isClosed).catch((error: unknown) => {
      inputError = { error };
    });
  }

  const outcome = await runPluginCall(definition, config, { method, params, port: theirs });
  // runPluginCall closes the plugin's end when the call settles; whatever it posted before that
  // arrives here before 'close'.
  await closed;
  if (callbackError) throw callbackError.error;
  if (inputError) throw new Error('the call input failed', { cause: inputError.error });
  return { outcome, output, bytes: Buffer.concat(chunks), ended };
}

async function feed(
  input: AsyncIterable<Uint8Array | ResizeMessage> | Iterable<Uint8Array | ResizeMessage>,
  port: MessagePort,
  isClosed: () => boolean,
): Promise<void> {
  try {
    for await (const chunk of input) {
      if (isClosed()) return;
      if (!(chunk instanceof Uint8Array)) {
        port.postMessage({ type: 'resize', columns: chunk.columns, rows: chunk.rows } satisfies PortMessage);
        continue;
      }
      // Copy, then transfer: a Buffer may be a view into a pool shared with other Buffers.
      const copy = new Uint8Array(chunk);
      port.postMessage({ type: 'data', chunk: copy } satisfies PortMessage, [copy.buffer as ArrayBuffer]);
    }
  } finally {
    if (!isClosed()) port.postMessage({ type: 'end' } satisfies PortMessage);
  }
}
