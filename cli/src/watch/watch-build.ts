import type { ApiClient } from '../client/index.js';
import { CliError } from '../errors/index.js';
import type { Style } from '../output/index.js';
import {
  type BuildEventMessage,
  BuildEventRenderer,
  exitCodeOf,
  type FinishedStatus,
  isFinished,
} from './render-events.js';
import { readSse, SseStreamClosed } from './sse-client.js';

export interface WatchOptions {
  /** Where the rendered log goes (stdout for `cc watch`). */
  write: (text: string) => void;
  style: Style;
  /** Where reconnection notices go (stderr), so they never mix into the build's log. */
  warn?: (text: string) => void;
  /** Stops watching (the build runs on); `watchBuild` then resolves with `detached`. */
  signal?: AbortSignal;
}

export type WatchOutcome =
  | { status: FinishedStatus; exitCode: number }
  | { status: 'detached'; exitCode: undefined };

/**
 * Streams a build's events to `write` as fly renders them until the build has finished, and
 * resolves with its final status and fly's exit code for it (0 succeeded, 1 failed, 2 errored,
 * 3 aborted). The stream resumes after a dropped connection from the last event received, so
 * the log shows every event exactly once. Shared by watch, trigger-job -w, rerun-build -w,
 * execute and up --example.
 */
export async function watchBuild(
  client: ApiClient,
  buildId: number,
  options: WatchOptions,
): Promise<WatchOutcome> {
  const renderer = new BuildEventRenderer(options.write, options.style);
  let final: FinishedStatus | undefined;
  try {
    const messages = readSse(
      (lastEventId, signal) => client.openBuildEvents(buildId, { lastEventId, signal }),
      {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        isRetryable,
        onReconnect: (attempt, error) =>
          options.warn?.(`event stream interrupted (${describe(error)}); resuming (attempt ${attempt})\n`),
      },
    );
    for await (const message of messages) {
      if (message.event === 'end') break;
      if (message.event !== 'event') continue;
      final = renderer.render(parseEvent(message.data, buildId));
      // fly stops at the final status; the server's `end` follows it and adds nothing.
      if (final !== undefined) break;
    }
  } catch (error) {
    throw streamFailed(buildId, error);
  }
  if (options.signal?.aborted && final === undefined) return { status: 'detached', exitCode: undefined };
  if (final === undefined) {
    // The stream ended without a final status event (it was cut short on the server's side):
    // the build record still knows how it ended.
    const { status } = await client.getBuild(buildId);
    if (!isFinished(status)) {
      throw new CliError(
        'CC_E_CLI_EVENT_STREAM',
        `the event stream of build ${buildId} ended while it is ${status}`,
        {
          hint: `attach again with \`cc watch -b ${buildId}\``,
          details: { build: buildId, status },
        },
      );
    }
    final = status;
  }
  return { status: final, exitCode: exitCodeOf(final) };
}

/** Network failures, 5xx answers and streams cut short are worth resuming; 4xx answers are not. */
function isRetryable(error: unknown): boolean {
  if (error instanceof SseStreamClosed) return true;
  if (error instanceof CliError) {
    if (error.code === 'CC_E_CLI_UNREACHABLE') return true;
    const status = error.details.status;
    return error.code === 'CC_E_CLI_API_ERROR' && typeof status === 'number' && status >= 500;
  }
  // A read that failed mid-stream (undici's "terminated", a reset socket).
  return true;
}

function parseEvent(data: string, buildId: number): BuildEventMessage {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (error) {
    throw new CliError('CC_E_CLI_EVENT_STREAM', `build ${buildId} sent an event that is not JSON`, {
      cause: error,
    });
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    !('event' in value) ||
    typeof value.event !== 'string' ||
    !('data' in value) ||
    typeof value.data !== 'object' ||
    value.data === null
  ) {
    throw new CliError(
      'CC_E_CLI_EVENT_STREAM',
      `build ${buildId} sent an event without \`event\` and \`data\``,
    );
  }
  return value as BuildEventMessage;
}

function streamFailed(buildId: number, error: unknown): CliError {
  if (error instanceof CliError) return error;
  return new CliError(
    'CC_E_CLI_EVENT_STREAM',
    `lost the event stream of build ${buildId}: ${describe(error)}`,
    {
      cause: error,
      hint: `the build runs on; attach again with \`cc watch -b ${buildId}\``,
      details: { build: buildId },
    },
  );
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
