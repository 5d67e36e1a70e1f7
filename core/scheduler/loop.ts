import { toError } from '../errors/index.js';

/** A background loop: runs `tick` every `intervalMs` until stopped, never two ticks at once. */
export interface Loop {
  /** Runs a tick now (or waits for the one running) and resolves when it is done. */
  runNow(): Promise<void>;
  /** Stops the loop and resolves once the tick in progress, if any, has finished. */
  stop(): Promise<void>;
}

export interface LoopOptions {
  intervalMs: number;
  tick: () => Promise<void>;
  /** Receives what a tick threw; the loop goes on. */
  onError: (error: Error) => void;
}

/**
 * The shape of the checker, scheduler and gc loops: a first tick at once, then one every
 * `intervalMs` after the previous one ended. A tick that throws is reported and the next one runs
 * at its time; timers are unref'd, so a loop alone never keeps the process alive.
 */
export function startLoop(options: LoopOptions): Loop {
  if (!Number.isInteger(options.intervalMs) || options.intervalMs <= 0) {
    throw new TypeError('options.intervalMs must be a positive integer');
  }
  let stopped = false;
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const run = (): Promise<void> => {
    running ??= (async () => {
      try {
        await options.tick();
      } catch (error: unknown) {
        options.onError(toError(error));
      }
    })().finally(() => {
      running = undefined;
      schedule();
    });
    return running;
  };
  const schedule = () => {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(() => void run(), options.intervalMs).unref();
  };

  // The first tick runs at once: a restarted server has work waiting.
  timer = setTimeout(() => void run(), 0).unref();
  return {
    runNow: () => (stopped ? Promise.resolve() : run()),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
