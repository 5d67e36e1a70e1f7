import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { BUILD_EVENTS_CHANNEL, createPool, type Pool } from '../db/index.js';

/** Where events are read from and listened for: a connection URL, or a pool of the core. */
export type EventSource = string | Pool;

/** One subscriber's wake-up flag: set by every notification for its build (and on reconnects). */
export interface Wakeup {
  /** Clears the flag; call before reading, so a notification that arrives during the read counts. */
  reset(): void;
  /** Resolves when the flag is set (at once if it already is), or when `signal` aborts. */
  wait(signal?: AbortSignal): Promise<void>;
  /** The subscription ended: closed by its subscriber, or the hub shut down. */
  readonly closed: boolean;
  close(): void;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;
/**
 * Subscribers read again this often even without a notification: a connection can die silently
 * (a dropped network path) long before TCP notices, and a re-read costs one indexed query.
 */
const SAFETY_POLL_MS = 10_000;

/**
 * One LISTEN connection shared by every subscriber to build events of one source. It connects
 * when the first subscriber arrives and closes when the last one leaves; when the connection
 * breaks it reconnects, waking every subscriber so they read whatever they may have missed.
 */
export class BuildEventHub {
  readonly #source: EventSource;
  readonly #readPool: Pool;
  readonly #ownsReadPool: boolean;
  readonly #subscribers = new Map<number, Set<WakeupImpl>>();
  #listener: pg.Client | pg.PoolClient | undefined;
  #connecting: Promise<void> | undefined;
  #poll: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #onEmpty: () => void;

  constructor(source: EventSource, onEmpty: () => void = () => {}) {
    this.#source = source;
    this.#onEmpty = onEmpty;
    if (typeof source === 'string') {
      this.#readPool = createPool(source, { max: 4, applicationName: 'conveyor-build-events' });
      this.#ownsReadPool = true;
    } else {
      this.#readPool = source;
      this.#ownsReadPool = false;
    }
  }

  /** The pool subscribers read events with. */
  get pool(): Pool {
    return this.#readPool;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Registers a subscriber for `buildId`; resolves once LISTEN is in place. */
  async subscribe(buildId: number): Promise<Wakeup> {
    if (this.#closed) throw new Error('the build event hub is closed');
    const wakeup = new WakeupImpl(() => this.#remove(buildId, wakeup));
    const set = this.#subscribers.get(buildId) ?? new Set();
    set.add(wakeup);
    this.#subscribers.set(buildId, set);
    try {
      await this.#ensureListening();
    } catch (error: unknown) {
      wakeup.close();
      throw error;
    }
    return wakeup;
  }

  /** Drops every subscriber and the connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#poll);
    const all = [...this.#subscribers.values()].flatMap((set) => [...set]);
    this.#subscribers.clear();
    for (const wakeup of all) wakeup.close();
    await this.#dropListener();
    if (this.#ownsReadPool) await this.#readPool.end().catch(() => {});
  }

  #remove(buildId: number, wakeup: WakeupImpl): void {
    const set = this.#subscribers.get(buildId);
    set?.delete(wakeup);
    if (set?.size === 0) this.#subscribers.delete(buildId);
    if (this.#subscribers.size === 0 && !this.#closed) {
      this.#onEmpty();
      void this.close();
    }
  }

  #ensureListening(): Promise<void> {
    if (this.#listener !== undefined) return Promise.resolve();
    this.#connecting ??= this.#listen().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #listen(): Promise<void> {
    const client =
      typeof this.#source === 'string'
        ? new pg.Client({ connectionString: this.#source, application_name: 'conveyor-build-events' })
        : await this.#source.connect();
    // Without a listener an 'error' on this connection would crash the process.
    client.on('error', () => this.#broken(client));
    client.on('end', () => this.#broken(client));
    client.on('notification', (message) => {
      if (message.channel === BUILD_EVENTS_CHANNEL) this.#dispatch(message.payload);
    });
    try {
      if (typeof this.#source === 'string') await client.connect();
      await client.query(`LISTEN ${BUILD_EVENTS_CHANNEL}`);
    } catch (error: unknown) {
      await release(client);
      throw error;
    }
    if (this.#closed) {
      await release(client);
      return;
    }
    this.#listener = client;
    this.#poll ??= setInterval(() => this.#wakeAll(), SAFETY_POLL_MS).unref();
  }

  #dispatch(payload: string | undefined): void {
    const buildId = Number.parseInt(payload?.split(':')[0] ?? '', 10);
    for (const wakeup of this.#subscribers.get(buildId) ?? []) wakeup.wake();
  }

  #wakeAll(): void {
    for (const set of this.#subscribers.values()) for (const wakeup of set) wakeup.wake();
  }

  /** The connection died: wake everyone (they re-read) and listen again in the background. */
  #broken(client: pg.Client | pg.PoolClient): void {
    if (this.#listener !== client) return;
    this.#listener = undefined;
    void release(client);
    this.#wakeAll();
    void this.#reconnect();
  }

  async #reconnect(): Promise<void> {
    for (let delay = RECONNECT_MIN_MS; !this.#closed && this.#subscribers.size > 0; ) {
      await sleep(delay);
      if (this.#closed || this.#subscribers.size === 0) return;
      try {
        await this.#ensureListening();
        // Whatever was stored while nobody listened is read now.
        this.#wakeAll();
        return;
      } catch {
        delay = Math.min(delay * 2, RECONNECT_MAX_MS);
      }
    }
  }

  async #dropListener(): Promise<void> {
    const client = this.#listener;
    this.#listener = undefined;
    if (client !== undefined) await release(client);
    // A connection still being made sees #closed when it is done and lets itself go.
    await this.#connecting?.catch(() => {});
  }
}

/** A LISTEN connection is never reused for anything else: pool clients are destroyed. */
async function release(client: pg.Client | pg.PoolClient): Promise<void> {
  if ('release' in client && typeof client.release === 'function') {
    client.release(true);
    return;
  }
  await (client as pg.Client).end().catch(() => {});
}

class WakeupImpl implements Wakeup {
  #flag = false;
  #waiters: Array<() => void> = [];
  #closed = false;
  readonly #onClose: () => void;

  constructor(onClose: () => void) {
    this.#onClose = onClose;
  }

  wake(): void {
    this.#flag = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve();
  }

  reset(): void {
    this.#flag = false;
  }

  get closed(): boolean {
    return this.#closed;
  }

  wait(signal?: AbortSignal): Promise<void> {
    if (this.#flag || this.#closed || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.#waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.wake();
    this.#onClose();
  }
}
