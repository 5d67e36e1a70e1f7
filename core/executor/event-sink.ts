import { ConveyorError } from '../errors/index.js';
import type { BuildEvent, Origin } from '../events/build-event.generated.js';

/** A partial line is held back at most this long (in characters) before it is emitted anyway. */
const MAX_HELD_CHARS = 16 * 1024;

/**
 * The build's event stream as the executor writes it: events leave in the order they were made
 * (log chunks come from callbacks that cannot wait), every text is redacted on the way, and a
 * failure to store one is kept and raised at the step's next `flush`.
 */
export class EventSink {
  readonly #emit: (event: BuildEvent) => Promise<void>;
  readonly #now: () => number;
  readonly redact: (text: string) => string;
  #tail: Promise<void> = Promise.resolve();
  #failure: ConveyorError | undefined;

  constructor(
    emit: (event: BuildEvent) => Promise<void>,
    redact: (text: string) => string,
    now: () => number,
  ) {
    this.#emit = emit;
    this.redact = redact;
    this.#now = now;
  }

  /** Event time: Unix seconds, as Concourse's events carry it. */
  time(): number {
    return Math.floor(this.#now() / 1000);
  }

  /** Queue an event; resolves once it is stored, rejects if storing it failed. */
  emit(event: BuildEvent): Promise<void> {
    // The chain itself never rejects (one lost event must not stop the ones after it); a failure,
    // even a synchronous throw of the caller's emit, is wrapped and kept.
    const stored = this.#tail
      .then(() => this.#emit(event))
      .catch((error: unknown) => {
        const failure = new ConveyorError(
          'CC_E_EXEC_EVENT_FAILED',
          `could not store a ${event.event} event of the build: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
        this.#failure ??= failure;
        throw failure;
      });
    this.#tail = stored.catch(() => undefined);
    return stored;
  }

  /** Queue an event nobody waits for; a failure surfaces at `flush`. */
  post(event: BuildEvent): void {
    this.emit(event).catch(() => undefined);
  }

  /** Wait for every queued event; rejects if any could not be stored. */
  async flush(): Promise<void> {
    await this.#tail;
    if (this.#failure) throw this.#failure;
  }

  /** A writer of one output stream of a step, emitting whole lines so a secret is never split. */
  logWriter(origin: Origin): LogWriter {
    return new LogWriter(this, origin);
  }

  log(origin: Origin, text: string): void {
    if (!text) return;
    this.post({ event: 'log', data: { origin, payload: this.redact(text), time: this.time() } });
  }
}

/**
 * Buffers a stream's output up to its last newline: redaction works on text, and a secret split
 * across two chunks would escape it. A line that never ends is emitted once it is long enough.
 */
export class LogWriter {
  readonly #sink: EventSink;
  readonly #origin: Origin;
  #held = '';

  constructor(sink: EventSink, origin: Origin) {
    this.#sink = sink;
    this.#origin = origin;
  }

  write(text: string): void {
    this.#held += text;
    const end = this.#held.lastIndexOf('\n');
    if (end >= 0) {
      this.#sink.log(this.#origin, this.#held.slice(0, end + 1));
      this.#held = this.#held.slice(end + 1);
    }
    if (this.#held.length > MAX_HELD_CHARS) this.end();
  }

  end(): void {
    const rest = this.#held;
    this.#held = '';
    this.#sink.log(this.#origin, rest);
  }
}
