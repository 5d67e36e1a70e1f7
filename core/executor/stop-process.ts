import { setTimeout as sleep } from 'node:timers/promises';
import type { runtime } from '@conveyor/plugin-api';
import type { PluginClient } from '../plugins/index.js';

/** How often a signal is sent again while the runtime says the process has not started yet. */
const kRetryMs = 50;

export interface StopProcessOptions {
  /** The signal to ask with first: SIGTERM, or SIGHUP for a process on a terminal. */
  first: runtime.SignalRequest['signal'];
  /** How long the process has after the first signal before SIGKILL. */
  graceMs: number;
  /** How long SIGKILL is sent again (while the runtime says the process has not started). */
  afterKillMs: number;
}

/**
 * Stop a process run through a runtime: the first signal, the grace period, then SIGKILL. `done`
 * settles when the process is over, `isSettled` says so synchronously. Whatever the runtime
 * answers, it never throws: what cannot be signalled is reaped when its container is destroyed.
 */
export async function stopProcess(
  client: PluginClient<'runtime'>,
  target: { handle: string; processId: string },
  isSettled: () => boolean,
  done: Promise<void>,
  options: StopProcessOptions,
): Promise<void> {
  await deliver(client, target, options.first, isSettled, options.graceMs);
  if (await settlesWithin(done, options.graceMs)) return;
  await deliver(client, target, 'SIGKILL', isSettled, options.afterKillMs);
}

/**
 * Send a signal, retrying while the runtime has not started the process yet (it says it was not
 * delivered), until it is delivered, the process is over, or `withinMs` passes.
 */
async function deliver(
  client: PluginClient<'runtime'>,
  target: { handle: string; processId: string },
  signal: runtime.SignalRequest['signal'],
  isSettled: () => boolean,
  withinMs: number,
): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!isSettled() && Date.now() < deadline) {
    const delivered = await client
      .call('signal', { handle: target.handle, processId: target.processId, signal })
      .then((reply) => reply.delivered)
      .catch(() => false);
    if (delivered) return;
    await sleep(kRetryMs);
  }
}

/** True if `promise` settled within `ms`. */
export async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
