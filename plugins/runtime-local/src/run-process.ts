import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import { constants } from 'node:os';
import type { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { type CallContext, PluginError, type runtime } from '@conveyor/plugin-api';
import type { LocalRuntimeConfig } from './config.js';
import { containerPath } from './container-paths.js';
import type { ContainerStore } from './container-store.js';
import { assertCurrentUser } from './current-user.js';
import { signalGroup } from './process-groups.js';

/** Used when the Conveyor process itself has no PATH. */
const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Run one process in a container and wait for it: it leads its own process group (so a signal
 * reaches everything it starts), its group is recorded before anything else happens (so destroy
 * can find it from any thread), its output streams as it comes, and its exit status is Concourse's
 * (128+N when killed by signal N).
 */
export async function runProcess(
  store: ContainerStore,
  request: runtime.RunRequest,
  context: CallContext<LocalRuntimeConfig>,
): Promise<runtime.RunResponse> {
  const { handle, processId, process: spec } = request;
  const container = await store.get(handle);
  if (request.reattach) {
    throw new PluginError(
      'LOCAL_REATTACH_UNSUPPORTED',
      `cannot reattach to process ${processId} of container ${handle}: local processes do not outlive the run that started them`,
    );
  }
  if (spec.tty) {
    throw new PluginError('LOCAL_TTY_UNSUPPORTED', 'the local runtime cannot give a process a terminal');
  }
  assertCurrentUser(spec.user, `process ${processId}`);
  if (await store.readProcess(handle, processId)) {
    throw new PluginError(
      'LOCAL_PROCESS_EXISTS',
      `container ${handle} already ran a process ${processId}; give each process its own id`,
    );
  }

  const rootDir = store.rootDir(handle);
  const workingDir = containerPath(rootDir, rootDir, container.spec.dir ?? '.', 'working directory');
  const cwd = containerPath(rootDir, workingDir, spec.dir ?? '.', 'process dir');
  if (!(await stat(cwd).catch(() => undefined))?.isDirectory()) {
    throw new PluginError(
      'LOCAL_DIR_NOT_FOUND',
      `process ${processId} should run in ${JSON.stringify(spec.dir ?? container.spec.dir ?? '/')}, which does not exist in container ${handle}`,
    );
  }

  const child = spawn(spec.path, spec.args ?? [], {
    cwd,
    env: processEnv(container.spec.env, spec.env),
    // Its own process group: signal and destroy kill the whole tree with kill(-pgid).
    detached: true,
    stdio: [request.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) {
    const [error] = (await once(child, 'error')) as [NodeJS.ErrnoException];
    throw new PluginError(
      'LOCAL_SPAWN_FAILED',
      `cannot start ${JSON.stringify(spec.path)} in container ${handle}: ${error.code ?? error.message}`,
      { cause: error },
    );
  }
  child.on('error', () => {
    // After a successful spawn only kill() reports here; the exit status says what happened.
  });
  // Not events.once: that would reject on 'error', and the exit status is what matters here.
  const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('close', (code, signal) => resolve([code, signal])),
  );

  const record = { processId, pid, pgid: pid, path: spec.path, startedAt: new Date().toISOString() };
  try {
    store.recordProcessSync(handle, record);
  } catch (error) {
    // Destroyed while we were starting: the process must not outlive its container.
    signalGroup(pid, 'SIGKILL');
    throw new PluginError(
      'LOCAL_CONTAINER_NOT_FOUND',
      `container ${handle} was destroyed as process ${processId} started`,
      {
        cause: error,
      },
    );
  }

  for (const stream of ['stdout', 'stderr'] as const) {
    // A decoder per stream: a chunk may end inside a multi-byte character.
    const decoder = new StringDecoder('utf8');
    const readable = child[stream];
    readable?.on('data', (chunk: Buffer) => {
      const text = decoder.write(chunk);
      if (text) context.output(stream, text);
    });
    readable?.on('end', () => {
      const rest = decoder.end();
      if (rest) context.output(stream, rest);
    });
  }
  if (request.stdin && child.stdin) pumpStdin(context.read(), child.stdin).catch(() => undefined);

  const [code, signal] = await closed;
  const response: runtime.RunResponse =
    code !== null
      ? { exitStatus: code }
      : { exitStatus: 128 + (signal ? (constants.signals[signal] ?? 0) : 0), ...(signal ? { signal } : {}) };
  store.updateProcess(handle, {
    ...record,
    exitStatus: response.exitStatus,
    exitedAt: new Date().toISOString(),
  });
  return response;
}

/** Only PATH and HOME come from the host: the Conveyor process's own environment may hold secrets. */
function processEnv(
  containerEnv: runtime.ContainerSpec['env'],
  env: runtime.ProcessSpec['env'],
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? FALLBACK_PATH,
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
    ...containerEnv,
    ...env,
  };
}

async function pumpStdin(input: AsyncIterable<Uint8Array>, stdin: Writable): Promise<void> {
  // EPIPE when the process exits without reading all of it: not an error of the step.
  stdin.on('error', () => undefined);
  const gone = once(stdin, 'close').catch(() => undefined);
  try {
    for await (const chunk of input) {
      if (stdin.destroyed) return;
      if (!stdin.write(chunk)) await Promise.race([once(stdin, 'drain'), gone]);
    }
  } finally {
    stdin.end();
  }
}
