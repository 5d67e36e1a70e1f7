import type { MessagePort } from 'node:worker_threads';
import type { PortMessage } from './generated/worker.generated.js';

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
}

/**
 * Build a CallContext over a call's MessagePort (or none). The host and the conformance kit both
 * use this, so a plugin sees the same context in tests as in production.
 */
export function createCallContext<Config>(
  config: Config,
  port: MessagePort | undefined,
): CallContext<Config> {
  const post = (message: PortMessage, transfer?: ArrayBuffer[]) => port?.postMessage(message, transfer);
  return {
    config,
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
    read: () => readPort(port),
  };
}

async function* readPort(port: MessagePort | undefined): AsyncGenerator<Uint8Array> {
  if (!port) return;
  const queue: Uint8Array[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const onMessage = (message: PortMessage) => {
    if (message.type === 'data') queue.push(message.chunk);
    else if (message.type === 'end') ended = true;
    else return;
    wake?.();
  };
  port.on('message', onMessage);
  try {
    while (true) {
      const chunk = queue.shift();
      if (chunk) {
        yield chunk;
      } else if (ended) {
        return;
      } else {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    }
  } finally {
    port.off('message', onMessage);
  }
}
