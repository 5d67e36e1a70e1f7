import type { SerializedError } from '@conveyor/plugin-api';
import { ConveyorError, toError } from '../errors/index.js';

/** Which of a call's two abort reasons fired. */
export type AbortCause = 'timeout' | 'caller';

/**
 * Turn the way a call ended badly into one typed error naming plugin@version and the method.
 * Piscina's own errors carry no codes, so the host classifies by what it knows itself: whether it
 * aborted the call, Node's worker error codes, and the outcome the plugin worker reported.
 */
export function callFailure(
  plugin: string,
  method: string,
  error: unknown,
  abortCause: AbortCause | undefined,
  timeoutMs: number,
  cooperative = false,
): ConveyorError {
  const details = { plugin, method };
  const where = `${plugin} ${method}`;
  if (abortCause === 'timeout') {
    return new ConveyorError(
      'CC_E_PLUGIN_TIMEOUT',
      `${where} did not answer within ${timeoutMs} ms; ${cooperative ? 'the plugin was told to stop' : 'its worker was terminated'}`,
      {
        cause: error,
        details: { ...details, timeoutMs },
      },
    );
  }
  if (abortCause === 'caller') {
    return new ConveyorError('CC_E_PLUGIN_ABORTED', `${where} was cancelled`, { cause: error, details });
  }
  const err = toError(error);
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return new ConveyorError(
      'CC_E_PLUGIN_OUT_OF_MEMORY',
      `${where} ran out of memory; its worker was replaced`,
      {
        cause: err,
        details,
      },
    );
  }
  if (err.name === 'PluginExitRequest') {
    // process.exit called outside the call's own promise chain (e.g. in a timer).
    return new ConveyorError(
      'CC_E_PLUGIN_EXITED',
      `${where} failed: ${err.message}; its worker was replaced`,
      {
        cause: err,
        details,
      },
    );
  }
  return new ConveyorError(
    'CC_E_PLUGIN_CRASHED',
    `${where} failed: its worker thread died (${err.message}); the worker was replaced`,
    {
      cause: err,
      details,
    },
  );
}

/** The error for a call the plugin itself reported as failed. */
export function reportedFailure(plugin: string, method: string, reported: SerializedError): ConveyorError {
  const cause = Object.assign(new Error(reported.message), { name: reported.name, stack: reported.stack });
  const details: Record<string, unknown> = { plugin, method };
  if (reported.code) details.pluginCode = reported.code;
  switch (reported.code) {
    case 'PLUGIN_EXITED':
      return new ConveyorError(
        'CC_E_PLUGIN_EXITED',
        `${plugin} ${method} failed: ${reported.message}; its worker was replaced`,
        {
          cause,
          details,
        },
      );
    case 'PLUGIN_LOAD_FAILED':
      return new ConveyorError(
        'CC_E_PLUGIN_LOAD_FAILED',
        `${plugin} could not be loaded: ${reported.message}`,
        {
          cause,
          details,
        },
      );
    default: {
      const code = reported.code ? ` [${reported.code}]` : '';
      return new ConveyorError(
        'CC_E_PLUGIN_CALL_FAILED',
        `${plugin} ${method} failed${code}: ${reported.message}`,
        {
          cause,
          details,
        },
      );
    }
  }
}
