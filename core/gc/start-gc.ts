import { startLoop } from '../scheduler/index.js';
import { collectGarbage, type GcOptions, type GcReport } from './collect-garbage.js';

export interface StartGcOptions extends GcOptions {
  /** Time between passes. Default 30 s. */
  intervalMs?: number | undefined;
  /** Receives each pass's report (its errors included). */
  onCollected?: ((report: GcReport) => void) | undefined;
  /** Receives a pass that failed as a whole (the database was unreachable, say). */
  onError?: ((error: Error) => void) | undefined;
}

export interface Gc {
  /** Runs a pass now (or waits for the running one). */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs collectGarbage every `intervalMs`. */
export function startGc(options: StartGcOptions): Gc {
  const loop = startLoop({
    intervalMs: options.intervalMs ?? 30_000,
    tick: async () => {
      const report = await collectGarbage(options);
      options.onCollected?.(report);
    },
    onError: options.onError ?? (() => {}),
  });
  return { runNow: () => loop.runNow(), stop: () => loop.stop() };
}
