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
  readonly #write: (events: BuildEvent[]) => Promise<void>;
  readonly #now: () => number;
  readonly redact: (text: string) => string;
  /** Events made while a write is in flight: they go together in the next write, in order. */
  #pending: Array<{ event: BuildEvent; settle: (error?: ConveyorError) => void }> = [];
  #writing: Promise<void> | undefined;
  #failure: ConveyorError | undefined;

  /** `write` stores a batch of events in order (one transaction, for a database). */
  constructor(
    write: (events: BuildEvent[]) => Promise<void>,
    redact: (text: string) => string,
    now: () => number,
  ) {
    this.#write = write;
    this.redact = redact;
    this.#now = now;
  }

  /** Event time: Unix seconds, as Concourse's events carry it. */
  time(): number {
    return Math.floor(this.#now() / 1000);
  }

  /** Queue an event; resolves once it is stored, rejects if storing it failed. */
  emit(event: BuildEvent): Promise<void> {
    const stored = new Promise<void>((resolve, reject) => {
      this.#pending.push({ event, settle: (error) => (error ? reject(error) : resolve()) });
    });
    this.#writing ??= this.#drain();
    return stored;
  }

  /**
   * Write batches until nothing is pending. A failed batch fails its events (one lost batch must
   * not stop the ones after it) and is kept to be raised at `flush`.
   */
  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      let failure: ConveyorError | undefined;
      try {
        await this.#write(batch.map((entry) => entry.event));
      } catch (error) {
        const kinds = [...new Set(batch.map((entry) => entry.event.event))].join(', ');
        failure = new ConveyorError(
          'CC_E_EXEC_EVENT_FAILED',
          `could not store ${batch.length} event(s) of the build (${kinds}): ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
        this.#failure ??= failure;
      }
      for (const entry of batch) entry.settle(failure);
    }
    this.#writing = undefined;
  }

  /** Queue an event nobody waits for; a failure surfaces at `flush`. */
  post(event: BuildEvent): void {
    this.emit(event).catch(() => undefined);
  }

  /** Wait for every queued event; rejects if any could not be stored. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
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
