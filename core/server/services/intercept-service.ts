import { randomBytes } from 'node:crypto';
import type { runtime } from '@conveyor/plugin-api';
import {
  containerNotFound,
  type InterceptExitStatus,
  type InterceptIo,
  type InterceptRequest,
  type InterceptService,
  interceptAmbiguous,
  type TerminalSize,
  ttyUnsupported,
} from '../../api/index.js';
import { runtimeInfoOnce, stopProcess } from '../../executor/index.js';
import type { CallInput, PluginClient } from '../../plugins/index.js';
import { listBuildContainers } from './container-queries.js';
import { matches, presentContainers } from './container-service.js';
import type { ApiServicesDeps } from './deps.js';
import { requireBuild } from './lookups.js';

/** The longest timer Node allows: a shell may stay open for hours, and the call timeout must not cut it. */
const kNoTimeoutMs = 2_147_483_647;
/** How long a process has to end after the first signal, before SIGKILL. */
const kGraceMs = 5_000;
/** After SIGKILL, how long to wait for the runtime to report the exit before giving up on it. */
const kAfterKillMs = 10_000;

/**
 * `cc intercept`: finds the container of a build's step and runs a process in it through the
 * configured runtime, as fly intercept does. The process gets the container's working directory
 * and environment from the runtime (the step's env is in the container's spec); closing the
 * client's socket stops the process and never the step.
 */
export function createInterceptService(deps: ApiServicesDeps): InterceptService {
  const runtimeName = deps.runtime.manifest.name;
  // The configured runtime does not change while the server runs: ask once, unless asking failed.
  const runtimeInfo = runtimeInfoOnce(deps.runtime);

  return {
    async prepare(request) {
      const build = await requireBuild(deps.pool, request.buildId);
      // Only containers that exist, and of the runtime this server talks to.
      const rows = (await listBuildContainers(deps.pool, { buildId: build.id })).filter(
        (row) => row.state === 'created' && row.runtime === runtimeName,
      );
      const candidates = (await presentContainers(deps, rows)).filter(
        (container) =>
          (request.container === undefined || container.handle === request.container) &&
          matches(container, { step: request.step }),
      );
      const [container, ...others] = candidates;
      if (container === undefined) throw containerNotFound(build.id, which(request), build.status);
      if (others.length > 0) {
        throw interceptAmbiguous(build.id, candidates);
      }
      if (request.tty && !(await runtimeInfo()).capabilities.tty) throw ttyUnsupported(runtimeName);
      return { container, run: (io) => runIn(deps.runtime, container.handle, request, io) };
    },
  };
}

function which(request: InterceptRequest): string | undefined {
  if (request.container !== undefined) return `container ${request.container}`;
  if (request.step !== undefined) return `step ${JSON.stringify(request.step)}`;
  return undefined;
}

async function runIn(
  client: PluginClient<'runtime'>,
  handle: string,
  request: InterceptRequest,
  io: InterceptIo,
): Promise<InterceptExitStatus> {
  const processId = `intercept-${randomBytes(6).toString('hex')}`;
  const [path, ...args] = request.command;
  const process: runtime.ProcessSpec = { path, args };
  if (request.tty) {
    process.tty = true;
    if (request.ttySize) process.ttySize = request.ttySize;
    if (request.term) process.env = { TERM: request.term };
  }
  // Not cancellable through the call: that would end the plugin's worker and leave the process
  // running. It is stopped with signals instead, and the call ends when the process does.
  const run = client.call(
    'run',
    { handle, processId, process, stdin: true },
    {
      timeoutMs: kNoTimeoutMs,
      input: callInput(io.input),
      onOutput: (stream, data) => {
        if (stream !== 'log') io.onOutput(stream, data);
      },
    },
  );
  let settled = false;
  const done = run.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  const stop = () => {
    // An interactive shell ignores SIGTERM; a hang-up is what a closed terminal sends.
    const first = request.tty ? 'SIGHUP' : 'SIGTERM';
    void stopProcess(client, { handle, processId }, () => settled, done, {
      first,
      graceMs: kGraceMs,
      afterKillMs: kAfterKillMs,
    });
  };
  io.signal.addEventListener('abort', stop, { once: true });
  if (io.signal.aborted) stop();
  try {
    const result = await run;
    return result.signal === undefined
      ? { exitStatus: result.exitStatus }
      : { exitStatus: result.exitStatus, signal: result.signal };
  } finally {
    io.signal.removeEventListener('abort', stop);
  }
}

async function* callInput(input: AsyncIterable<Uint8Array | TerminalSize>): AsyncGenerator<CallInput> {
  for await (const item of input) {
    yield item instanceof Uint8Array ? item : { type: 'resize', columns: item.columns, rows: item.rows };
  }
}
