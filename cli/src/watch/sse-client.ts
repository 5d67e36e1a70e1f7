import { setTimeout as sleep } from 'node:timers/promises';
import { type SseMessage, SseParser } from './sse-parser.js';

/**
 * Opens the stream, resuming after `lastEventId` when given; resolves with the body once it is
 * 200. Aborting `signal` must end the body's iteration (a Node stream destroyed, say).
 */
export type SseOpen = (
  lastEventId: string | undefined,
  signal: AbortSignal,
) => Promise<AsyncIterable<Uint8Array>>;

export interface SseClientOptions {
  /** Ends the stream: the iteration returns once it aborts. */
  signal?: AbortSignal;
  /** Whether a failure to open or read the stream is worth another try (a network error, a 5xx). */
  isRetryable: (error: unknown) => boolean;
  /** Tries in a row that may fail before giving up; a message received resets the count. */
  maxRetries?: number;
  /** The first wait before reconnecting; it doubles with each failure in a row, up to 8 s. */
  retryDelayMs?: number;
  /**
   * A connection silent for this long is presumed dead (a peer gone without a FIN) and replaced.
   * The API sends a heartbeat comment every 15 s, so the default of 60 s only fires on a dead one.
   */
  idleTimeoutMs?: number;
  /** Called before each reconnection, e.g. to tell the user. */
  onReconnect?: (attempt: number, error: unknown) => void;
}

/** The stream closed without a failure: for a build stream that has not ended, a reason to resume. */
export class SseStreamClosed extends Error {
  constructor() {
    super('the server closed the event stream');
    this.name = 'SseStreamClosed';
  }
}

class SseIdleTimeout extends Error {
  constructor(ms: number) {
    super(`no data on the event stream for ${ms / 1000}s`);
    this.name = 'SseIdleTimeout';
  }
}

/**
 * Server-Sent Events with reconnection: when the connection drops (or falls silent),
 * it opens a new one with `Last-Event-ID` set to the last id received, so the server resumes
 * right after it and nothing is missed or repeated. The iteration runs until the caller stops
 * it (break/return, or the signal) or a failure is not retryable or retries run out.
 */
export async function* readSse(open: SseOpen, options: SseClientOptions): AsyncGenerator<SseMessage> {
  const maxRetries = options.maxRetries ?? 8;
  const baseDelay = options.retryDelayMs ?? 250;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  let lastEventId: string | undefined;
  let failures = 0;
  // Until a first connection succeeds, a failure is the answer (a wrong URL, an unknown build),
  // not an interruption: it is thrown at once rather than retried.
  let connected = false;
  for (;;) {
    if (options.signal?.aborted) return;
    const connection = new AbortController();
    const stop = () => connection.abort(options.signal?.reason);
    options.signal?.addEventListener('abort', stop, { once: true });
    let idle: NodeJS.Timeout | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => connection.abort(new SseIdleTimeout(idleTimeoutMs)), idleTimeoutMs);
    };
    try {
      armIdle();
      const body = await open(lastEventId, connection.signal);
      connected = true;
      const parser = new SseParser(lastEventId);
      for await (const chunk of body) {
        armIdle();
        for (const message of parser.push(chunk)) {
          lastEventId = message.lastEventId;
          failures = 0;
          yield message;
        }
      }
      throw new SseStreamClosed();
    } catch (error) {
      if (options.signal?.aborted) return;
      const reason = connection.signal.reason instanceof SseIdleTimeout ? connection.signal.reason : error;
      if (!connected) throw reason;
      if (!(reason instanceof SseIdleTimeout) && !options.isRetryable(reason)) throw reason;
      failures += 1;
      if (failures > maxRetries) throw reason;
      options.onReconnect?.(failures, reason);
      const delay = Math.min(baseDelay * 2 ** (failures - 1), 8_000);
      try {
        await sleep(delay, undefined, options.signal ? { signal: options.signal } : {});
      } catch {
        return;
      }
    } finally {
      clearTimeout(idle);
      connection.abort();
      options.signal?.removeEventListener('abort', stop);
    }
  }
}
