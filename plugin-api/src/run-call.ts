import { createCallContext } from './call-context.js';
import { isPluginDefinition, type PluginDefinition } from './define-plugin.js';
import type { CallOutcome, CallTask, SerializedError } from './generated/worker.generated.js';
import { PluginError } from './plugin-error.js';

/**
 * Load a plugin's `main` module and check that its default export is a definePlugin(...) value of
 * the kind its manifest declares.
 */
export async function loadPluginDefinition(entry: string, kind: string): Promise<PluginDefinition> {
  const module = (await import(entry)) as { default?: unknown };
  const definition = module.default;
  if (!isPluginDefinition(definition)) {
    throw new PluginError('PLUGIN_BAD_ENTRY', `${entry} must default-export the value of definePlugin(...)`);
  }
  if (definition.kind !== kind) {
    throw new PluginError(
      'PLUGIN_BAD_ENTRY',
      `${entry} defines a ${definition.kind} plugin but its manifest says ${kind}`,
    );
  }
  return definition;
}

/**
 * Run one call against a plugin definition. Errors become data so their code survives the
 * thread boundary (structured clone drops an Error's own properties).
 */
export async function runPluginCall(
  definition: PluginDefinition,
  config: Record<string, unknown>,
  task: CallTask,
): Promise<CallOutcome> {
  const port = task.port;
  try {
    const method = (definition.methods as Record<string, unknown>)[task.method];
    if (typeof method !== 'function') {
      throw new PluginError('PLUGIN_UNKNOWN_METHOD', `the plugin does not implement ${task.method}`);
    }
    const value: unknown = await method(task.params, createCallContext(config, port));
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: serializeError(error) };
  } finally {
    port?.close();
  }
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      ...(typeof code === 'string' ? { code } : {}),
      ...(error.stack ? { stack: error.stack } : {}),
    };
  }
  return { name: 'Error', message: `non-Error value thrown: ${String(error)}` };
}
