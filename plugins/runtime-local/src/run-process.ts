import { stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { type CallContext, PluginError, type runtime } from '@conveyor/plugin-api';
import type { LocalRuntimeConfig } from './config.js';
import { containerPath } from './container-paths.js';
import type { ContainerStore } from './container-store.js';
import { assertCurrentUser } from './current-user.js';
import { type LaunchedProcess, Launcher } from './launcher.js';
import { signalGroup } from './process-groups.js';

/** This worker thread's launcher: step processes start there, not by forking the server. */
const launcher = new Launcher();

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

  let child: LaunchedProcess;
  try {
    child = await launcher.launch({
      path: spec.path,
      args: spec.args ?? [],
      cwd,
      env: processEnv(container.spec.env, spec.env),
      stdin: request.stdin === true,
    });
  } catch (error) {
    if (error instanceof PluginError) throw error;
    const { code, message } = error as NodeJS.ErrnoException;
    throw new PluginError(
      'LOCAL_SPAWN_FAILED',
      `cannot start ${JSON.stringify(spec.path)} in container ${handle}: ${code ?? message}`,
      { cause: error },
    );
  }
  const pid = child.pid;

  const record = { processId, pid, pgid: pid, path: spec.path, startedAt: new Date().toISOString() };
  try {
    store.recordProcessSync(handle, record);
    child.adopted();
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

  // A decoder per stream: a chunk may end inside a multi-byte character.
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  child.onOutput((stream, chunk) => {
    const text = decoders[stream].write(chunk);
    if (text) context.output(stream, text);
  });
  if (request.stdin) pumpStdin(context.read(), child).catch(() => undefined);

  const { code, signal } = await child.exited;
  for (const stream of ['stdout', 'stderr'] as const) {
    const rest = decoders[stream].end();
    if (rest) context.output(stream, rest);
  }
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

async function pumpStdin(input: AsyncIterable<Uint8Array>, child: LaunchedProcess): Promise<void> {
  try {
    for await (const chunk of input) child.writeStdin(chunk);
  } finally {
    child.endStdin();
  }
}
