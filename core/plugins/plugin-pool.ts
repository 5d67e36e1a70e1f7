import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { MessageChannel, type MessagePort, type TransferListItem } from 'node:worker_threads';
import {
  type CallOutcome,
  type CallTask,
  describeProblems,
  type HostMethods,
  hostSchemaValidator,
  methodNames,
  methodSchemaValidator,
  type PortMessage,
  type ResizeMessage,
  serializeError,
} from '@conveyor/plugin-api';
import { Piscina } from 'piscina';
import { ConveyorError } from '../errors/index.js';
import { type AbortCause, callFailure, reportedFailure } from './call-errors.js';
import type { DiscoveredPlugin } from './discovery.js';

export interface PoolLimits {
  callTimeoutMs: number;
  maxOldGenerationSizeMb: number;
  maxThreads: number;
  concurrentCallsPerWorker: number;
  idleTimeoutMs: number;
}

/**
 * What a caller sends a plugin on the call's port: bytes (stdin, a tar to extract), or a terminal's
 * new size for a `run` of a `tty` process (`{ type: 'resize', columns, rows }`).
 */
export type CallInput = Uint8Array | ResizeMessage;

/**
 * The host services a caller offers a plugin for one call (plugin-api/schemas/host.json), each
 * given the call's signal. What a service may touch is the caller's to bind: e.g. the image of the
 * resource type the call is for, the volumes its request named.
 */
export type HostServiceHandlers = {
  readonly [M in keyof HostMethods]?: (
    request: HostMethods[M]['request'],
    signal: AbortSignal,
  ) => Promise<HostMethods[M]['response']>;
};

export interface CallOptions {
  /** Cancels the call; a running call's worker is terminated. */
  signal?: AbortSignal | undefined;
  /** Overrides the pool's call timeout for this call. */
  timeoutMs?: number | undefined;
  /** Process output and the plugin's log lines, as they come. */
  onOutput?: ((stream: 'stdout' | 'stderr' | 'log', data: string) => void) | undefined;
  /** Bytes the plugin sends (a tar of a volume), as they come. */
  onData?: ((chunk: Uint8Array) => void) | undefined;
  /** Bytes to send the plugin (stdin, a tar to extract), and terminal sizes among them; then `end`. */
  input?: AsyncIterable<CallInput> | Iterable<CallInput> | undefined;
  /** Services the plugin may ask of the host during this call (`context.host`). */
  host?: HostServiceHandlers | undefined;
}

/** How often a call is sent again while it lands on a worker that is being replaced, and how far apart. */
const kRetiringRetries = 50;
const kRetiringRetryDelayMs = 5;
/** How long after a plugin's process.exit a worker death is taken for that worker ending. */
const kRetiringWindowMs = 2_000;

/** A worker that ended with no error of its own: not out of memory, not a plugin's exit request. */
function isPlainWorkerExit(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return code === undefined && error.name === 'Error';
}

const workerFile = new URL('./worker/plugin-worker.js', import.meta.url).href;
const methodSets = new Map(
  Object.entries(methodNames).map(([kind, names]) => [kind, new Set<string>(names)]),
);

/**
 * One plugin@version's worker threads. Every call's request is validated before it leaves and
 * its reply when it arrives; whatever goes wrong in the worker fails that call alone.
 */
export class PluginPool {
  readonly plugin: DiscoveredPlugin;
  readonly limits: PoolLimits;
  readonly #piscina: Piscina;
  readonly #methods: Set<string>;
  /** Until when a worker of this pool may be ending because its plugin called process.exit. */
  #retiringUntil = 0;

  constructor(plugin: DiscoveredPlugin, limits: PoolLimits) {
    this.plugin = plugin;
    this.limits = limits;
    this.#methods = methodSets.get(plugin.manifest.kind) ?? new Set();
    this.#piscina = new Piscina({
      filename: workerFile,
      workerData: { entry: plugin.entry, kind: plugin.manifest.kind },
      minThreads: 0,
      maxThreads: limits.maxThreads,
      concurrentTasksPerWorker: limits.concurrentCallsPerWorker,
      idleTimeout: limits.idleTimeoutMs,
      // A plugin may keep background work (sockets, timers) between calls: its event loop must run.
      atomics: 'async',
      resourceLimits: { maxOldGenerationSizeMb: limits.maxOldGenerationSizeMb },
    });
    // A worker that dies with no call in flight is simply replaced; nothing to report to a caller.
    this.#piscina.on('error', () => {});
  }

  get id(): string {
    return this.plugin.id;
  }

  /** Run one method. Rejects with a ConveyorError whose code says how the call failed. */
  async call(
    method: string,
    request: unknown,
    config: CallConfig,
    options: CallOptions = {},
  ): Promise<unknown> {
    const kind = this.plugin.manifest.kind;
    if (!this.#methods.has(method)) {
      throw new ConveyorError(
        'CC_E_PLUGIN_BAD_REQUEST',
        `${this.id}: a ${kind} plugin has no method ${method}`,
        {
          details: { plugin: this.id, method },
        },
      );
    }
    const validateRequest = methodSchemaValidator(kind, method, 'request');
    if (validateRequest && !validateRequest(request)) {
      const problems = validateRequest.problems();
      throw new ConveyorError(
        'CC_E_PLUGIN_BAD_REQUEST',
        `${this.id} ${method}: request ${describeProblems(problems)}`,
        {
          details: { plugin: this.id, method, problems },
        },
      );
    }

    const task: Omit<CallTask, 'port'> = {
      method,
      params: request as CallTask['params'],
      config: config.value,
      configId: config.id,
    };
    // A pool that runs several calls per worker cancels cooperatively: piscina would give every
    // call that carries an AbortSignal a worker of its own (aborting it terminates the worker),
    // which defeats the concurrency. Such calls always get a port, to carry the cancel message.
    const cooperative = this.limits.concurrentCallsPerWorker > 1;
    const timeoutMs = options.timeoutMs ?? this.limits.callTimeoutMs;
    const controller = new AbortController();
    let abortCause: AbortCause | undefined;
    let port: MessagePort | undefined;
    const abort = (cause: AbortCause) => {
      if (abortCause) return;
      abortCause = cause;
      controller.abort();
      if (cooperative) port?.postMessage({ type: 'cancel', reason: cause } satisfies PortMessage);
    };
    const timer = setTimeout(() => abort('timeout'), timeoutMs);
    const onCallerAbort = () => abort('caller');
    options.signal?.addEventListener('abort', onCallerAbort, { once: true });
    if (options.signal?.aborted) onCallerAbort();

    let outcome: CallOutcome | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        const channel =
          cooperative || options.onOutput || options.onData || options.input || options.host
            ? this.#channel(options, controller.signal, method)
            : undefined;
        port = channel?.port;
        let landedOnRetiring = false;
        try {
          outcome = await this.#runOnce(
            channel ? { ...task, port: channel.remote } : (task as CallTask),
            channel,
            controller.signal,
            cooperative,
            () => abortCause === undefined,
          );
          // A worker that is being replaced (its plugin called process.exit) runs nothing; the
          // call never started, so it is safe to send again.
          landedOnRetiring = !outcome.ok && outcome.error.code === 'PLUGIN_WORKER_RETIRING';
        } catch (error) {
          // The retiring worker may end while piscina hands it this call: the call died with the
          // thread before any plugin code ran. Anything else is this call's own failure.
          if (abortCause !== undefined || !this.#workerRetiring() || !isPlainWorkerExit(error)) throw error;
          landedOnRetiring = true;
        }
        // ...unless its input stream was already spent.
        if (!landedOnRetiring || options.input || attempt >= kRetiringRetries) break;
        await sleep(kRetiringRetryDelayMs);
      }
      if (!outcome!.ok && outcome!.error.code === 'PLUGIN_EXITED') {
        this.#retiringUntil = Date.now() + kRetiringWindowMs;
      }
    } catch (error) {
      throw callFailure(this.id, method, error, abortCause, timeoutMs, cooperative);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onCallerAbort);
    }

    if (!outcome)
      throw new ConveyorError('CC_E_PLUGIN_CRASHED', `${this.id} ${method}: no worker took the call`);
    if (!outcome.ok) throw reportedFailure(this.id, method, outcome.error);
    const validateReply = methodSchemaValidator(kind, method, 'response');
    if (validateReply && !validateReply(outcome.value)) {
      const problems = validateReply.problems();
      throw new ConveyorError(
        'CC_E_PLUGIN_BAD_REPLY',
        `${this.id} ${method} answered with an invalid reply: ${describeProblems(problems)}`,
        { details: { plugin: this.id, method, problems } },
      );
    }
    return outcome.value;
  }

  #workerRetiring(): boolean {
    return Date.now() < this.#retiringUntil;
  }

  /** A call's MessageChannel: our end delivers output and bytes to the caller's callbacks. */
  #channel(options: CallOptions, signal: AbortSignal, method: string): CallChannel {
    const channel = new MessageChannel();
    // The worker closes its end when the call is over (or dies); messages sent before that are
    // delivered first, so waiting for 'close' means no output is lost.
    const closed = new Promise<void>((resolve) => channel.port1.once('close', resolve));
    channel.port1.on('message', (message: PortMessage) => {
      if (message.type === 'output') options.onOutput?.(message.stream, message.data);
      else if (message.type === 'data') options.onData?.(message.chunk);
      else if (message.type === 'host-call') {
        void this.#serveHostCall(
          message.id,
          message.method,
          message.params,
          options.host,
          signal,
          method,
        ).then((reply) => {
          // The call may be over (and its port closed) by the time a slow service answers.
          try {
            channel.port1.postMessage(reply);
          } catch {}
        });
      }
    });
    if (options.input) void pump(options.input, channel.port1);
    return { port: channel.port1, remote: channel.port2, closed };
  }

  /** One host service request of a plugin: checked, served, its answer checked, as a reply. */
  async #serveHostCall(
    id: number,
    service: string,
    params: unknown,
    handlers: HostServiceHandlers | undefined,
    signal: AbortSignal,
    method: string,
  ): Promise<PortMessage> {
    const where = `${this.id} ${method}: host.${service}`;
    try {
      const handler = (handlers as Record<string, HostServiceHandlers['run']> | undefined)?.[service];
      if (!handler) {
        throw new ConveyorError(
          'CC_E_PLUGIN_HOST_SERVICE_UNAVAILABLE',
          `${where} is not offered to this call (the host binds run to resource types defined by a Concourse image)`,
        );
      }
      const validateRequest = hostSchemaValidator(service, 'request');
      if (validateRequest && !validateRequest(params)) {
        throw new ConveyorError(
          'CC_E_PLUGIN_HOST_SERVICE_BAD_REQUEST',
          `${where}: request ${describeProblems(validateRequest.problems())}`,
        );
      }
      const value = await handler(params as HostMethods['run']['request'], signal);
      const validateReply = hostSchemaValidator(service, 'response');
      if (validateReply && !validateReply(value)) {
        throw new Error(
          `${where} answered with an invalid reply: ${describeProblems(validateReply.problems())}`,
        );
      }
      return { type: 'host-reply', id, ok: true, value };
    } catch (error) {
      return { type: 'host-reply', id, ok: false, error: serializeError(error) };
    }
  }

  #runOnce(
    task: CallTask,
    channel: CallChannel | undefined,
    signal: AbortSignal,
    cooperative: boolean,
    stillWanted: () => boolean,
  ): Promise<CallOutcome> {
    // The hot path (no port, one call per worker) goes straight to piscina: no extra promise.
    if (!channel && !cooperative) return this.#piscina.run(task, { signal }) as Promise<CallOutcome>;
    return this.#runWithChannel(task, channel, signal, cooperative, stillWanted);
  }

  async #runWithChannel(
    task: CallTask,
    channel: CallChannel | undefined,
    signal: AbortSignal,
    cooperative: boolean,
    stillWanted: () => boolean,
  ): Promise<CallOutcome> {
    const transferList: TransferListItem[] = channel ? [channel.remote] : [];
    try {
      if (!cooperative) return (await this.#piscina.run(task, { signal, transferList })) as CallOutcome;
      // The caller gets its answer at once; the plugin is told through the port and the worker
      // (with its other calls) goes on.
      const aborted = new Promise<never>((_, reject) => {
        if (signal.aborted) reject(new Error('the call was cancelled'));
        signal.addEventListener('abort', () => reject(new Error('the call was cancelled')), { once: true });
      });
      const running = this.#piscina.run(task, { transferList }) as Promise<CallOutcome>;
      running.catch(() => {});
      return await Promise.race([running, aborted]);
    } finally {
      // After a cooperative cancel the plugin may take its time to stop; don't wait for it.
      if (channel && stillWanted()) await channel.closed;
    }
  }

  /** Threads currently alive, for `cc plugin list` and tests. */
  get threads(): number {
    return this.#piscina.threads.length;
  }

  async close(): Promise<void> {
    await this.#piscina.close({ force: true });
  }
}

interface CallChannel {
  port: MessagePort;
  remote: MessagePort;
  closed: Promise<void>;
}

/** A plugin configuration as calls carry it: the value and an id that names it. */
export interface CallConfig {
  readonly value: Record<string, unknown>;
  readonly id: string;
}

export function callConfig(value: Record<string, unknown>): CallConfig {
  return { value, id: createHash('sha256').update(JSON.stringify(value)).digest('base64url').slice(0, 16) };
}

async function pump(input: AsyncIterable<CallInput> | Iterable<CallInput>, port: MessagePort) {
  try {
    for await (const chunk of input) {
      if (!(chunk instanceof Uint8Array)) {
        // Only the fields of the message: the caller's object may carry more, or not clone.
        port.postMessage({ type: 'resize', columns: chunk.columns, rows: chunk.rows } satisfies PortMessage);
        continue;
      }
      const copy = new Uint8Array(chunk);
      port.postMessage({ type: 'data', chunk: copy } satisfies PortMessage, [copy.buffer as ArrayBuffer]);
    }
  } finally {
    port.postMessage({ type: 'end' } satisfies PortMessage);
  }
}
