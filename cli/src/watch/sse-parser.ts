/** One dispatched Server-Sent Events message. */
export interface SseMessage {
  /** The last event ID as of this message (ids persist until the stream sets another). */
  lastEventId: string | undefined;
  /** `message` unless the stream named it with `event:`. */
  event: string;
  data: string;
}

/**
 * An incremental parser of the `text/event-stream` format (the WHATWG HTML spec's "interpreting
 * an event stream"): chunks may split lines, and even a CRLF, anywhere. Comments (`: heartbeat`)
 * and unknown fields are ignored; `data:` lines are joined with newlines.
 */
export class SseParser {
  readonly #decoder = new TextDecoder('utf-8');
  #buffer = '';
  #first = true;
  #event = '';
  #data: string[] = [];
  #hasData = false;
  #lastEventId: string | undefined;

  constructor(lastEventId?: string) {
    this.#lastEventId = lastEventId;
  }

  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  /** Feeds a chunk; returns the messages it completed. */
  push(chunk: Uint8Array): SseMessage[] {
    let text = this.#decoder.decode(chunk, { stream: true });
    if (this.#first && text.length > 0) {
      this.#first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.#buffer += text;
    const messages: SseMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.#buffer.length; i++) {
      const char = this.#buffer[i];
      if (char !== '\n' && char !== '\r') continue;
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      if (char === '\r' && i === this.#buffer.length - 1) break;
      const line = this.#buffer.slice(start, i);
      if (char === '\r' && this.#buffer[i + 1] === '\n') i++;
      start = i + 1;
      const message = this.#line(line);
      if (message !== undefined) messages.push(message);
    }
    this.#buffer = this.#buffer.slice(start);
    return messages;
  }

  #line(line: string): SseMessage | undefined {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.#event = value;
        break;
      case 'data':
        this.#data.push(value);
        this.#hasData = true;
        break;
      case 'id':
        if (!value.includes('\u0000')) this.#lastEventId = value;
        break;
      default:
        // `retry:` and unknown fields: the client has its own reconnection policy.
        break;
    }
    return undefined;
  }

  #dispatch(): SseMessage | undefined {
    const event = this.#event === '' ? 'message' : this.#event;
    const data = this.#data.join('\n');
    const hasData = this.#hasData;
    this.#event = '';
    this.#data = [];
    this.#hasData = false;
    // A block without data lines dispatches nothing (it may still have set the id).
    if (!hasData) return undefined;
    return { lastEventId: this.#lastEventId, event, data };
  }
}
