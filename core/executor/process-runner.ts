import type { runtime } from '@conveyor/plugin-api';
import type { PluginClient } from '../plugins/index.js';
import { settlesWithin, stopProcess } from './stop-process.js';

/** The longest timer Node allows: a task may run for days, and the host's call timeout must not cut it. */
const NO_TIMEOUT_MS = 2_147_483_647;
/** After SIGKILL, how long to wait for the runtime to report the exit before giving up on it. */
const AFTER_KILL_MS = 10_000;

export interface ProcessResult {
  exitStatus: number;
  /** The process was stopped because `signal` fired. */
  interrupted: boolean;
}

/**
 * Run a process and wait for it; when `signal` fires, stop it as Concourse does: SIGTERM to its
 * process tree, SIGKILL after the grace period. The run call itself is never cancelled: that
 * would only terminate the plugin's worker and leave the process running.
 */
export async function runInterruptibly(
  client: PluginClient<'runtime'>,
  request: { handle: string; processId: string; process: runtime.ProcessSpec; stdin?: boolean },
  options: {
    signal: AbortSignal;
    graceMs: number;
    onOutput(stream: 'stdout' | 'stderr', data: string): void;
    /** The process's stdin (with `request.stdin`), closed after its last chunk. */
    input?: Iterable<Uint8Array> | AsyncIterable<Uint8Array> | undefined;
  },
): Promise<ProcessResult> {
  const { signal, graceMs } = options;
  const run = client.call('run', request, {
    timeoutMs: NO_TIMEOUT_MS,
    ...(options.input ? { input: options.input } : {}),
    onOutput: (stream, data) => {
      if (stream !== 'log') options.onOutput(stream, data);
    },
  });
  let settled = false;
  const done = run.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );

  // Resolves once a stop has run its course: SIGTERM, the grace period, SIGKILL, a last wait.
  let gaveUp!: () => void;
  const stopped = new Promise<void>((resolve) => {
    gaveUp = resolve;
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void stopProcess(client, request, () => settled, done, {
      first: 'SIGTERM',
      graceMs,
      afterKillMs: AFTER_KILL_MS,
    })
      .then(() => settlesWithin(done, AFTER_KILL_MS))
      .then(gaveUp, gaveUp);
  };
  signal.addEventListener('abort', stop, { once: true });
  if (signal.aborted) stop();
  try {
    await Promise.race([done, stopped]);
  } finally {
    signal.removeEventListener('abort', stop);
  }
  if (!settled) {
    // The runtime never answered after SIGKILL: give up on it; destroying the container reaps the rest.
    return { exitStatus: 137, interrupted: true };
  }
  const result = await run.catch((error: unknown) => {
    if (signal.aborted) return undefined;
    throw error;
  });
  if (!result) return { exitStatus: 137, interrupted: true };
  return { exitStatus: result.exitStatus, interrupted: signal.aborted };
}
