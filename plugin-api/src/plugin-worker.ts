import type { PluginDefinition } from './define-plugin.js';
import type { CallOutcome, CallTask } from './generated/worker.generated.js';
import { loadPluginDefinition, runPluginCall } from './run-call.js';

/** Thrown in place of process.exit inside a plugin worker, so the call that exited can be reported. */
class PluginExitRequest extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`the plugin called process.exit(${exitCode})`);
    this.name = 'PluginExitRequest';
    this.exitCode = exitCode;
  }
  get code(): string {
    return 'PLUGIN_EXITED';
  }
}

/**
 * The function a plugin's worker thread runs for each call (the host hands it to piscina).
 *
 * 1. The plugin module is imported on the first call, not at worker start, so a module that fails
 *    to load fails calls with a clear error instead of failing the pool's bootstrap.
 * 2. `setup` runs once per worker and configuration.
 * 3. process.exit inside a worker would end the thread with no word on why; it is turned into a
 *    failed call, and the thread then really exits so the pool replaces it with a fresh one.
 */
export function createPluginWorker(entry: string, kind: string): (task: CallTask) => Promise<CallOutcome> {
  let definition: Promise<PluginDefinition> | undefined;
  const setups = new Map<string, Promise<void>>();
  const realExit = process.exit.bind(process);
  // Node itself calls process.exit after reporting an uncaught exception; that one must go through.
  let dying = false;
  process.on('uncaughtExceptionMonitor', () => {
    dying = true;
  });
  process.exit = ((code?: number | string | null) => {
    if (dying) return realExit(code);
    throw new PluginExitRequest(Number(code ?? process.exitCode ?? 0));
  }) as typeof process.exit;

  // Once loaded and set up for a configuration, calls skip straight to the method: this is the
  // hot path every plugin call takes.
  let ready: PluginDefinition | undefined;
  const readyConfigs = new Set<string>();

  const prepare = async (config: Record<string, unknown>, configId: string): Promise<PluginDefinition> => {
    definition ??= loadPluginDefinition(entry, kind);
    const loaded = await definition;
    let setup = setups.get(configId);
    if (!setup) {
      setup = Promise.resolve(loaded.setup?.(config));
      setups.set(configId, setup);
    }
    await setup;
    ready = loaded;
    readyConfigs.add(configId);
    return loaded;
  };

  // Set once the plugin called process.exit: the thread is about to end and runs nothing more.
  let retiring = false;

  return async (task) => {
    if (retiring) {
      task.port?.close();
      return {
        ok: false,
        error: {
          name: 'PluginWorkerRetiring',
          code: 'PLUGIN_WORKER_RETIRING',
          message: 'this worker is being replaced',
        },
      };
    }
    const config = task.config ?? {};
    const configId = task.configId ?? '';
    let loaded = ready !== undefined && readyConfigs.has(configId) ? ready : undefined;
    if (loaded === undefined) {
      try {
        loaded = await prepare(config, configId);
      } catch (error) {
        // A failed load or setup is retried on the next call: the cause may be transient.
        definition = undefined;
        setups.clear();
        task.port?.close();
        return {
          ok: false,
          error: { name: 'PluginLoadError', code: 'PLUGIN_LOAD_FAILED', message: describe(error) },
        };
      }
    }
    const outcome = await runPluginCall(loaded, config, task);
    if (!outcome.ok && outcome.error.code === 'PLUGIN_EXITED') {
      // Let the reply reach the host first, then end the thread; calls that reach it meanwhile are
      // turned away (the host sends them again) rather than lost with the thread.
      retiring = true;
      setTimeout(() => realExit(0), 20);
    }
    return outcome;
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
