import { constants } from 'node:os';
import { posix } from 'node:path';
import { type CallContext, PluginError, type runtime } from '@conveyor/plugin-api';
import type { FilledConfig } from './config.js';
import {
  ContainerdCallError,
  type ContainerdClient,
  ignoreNotFound,
  isNotFound,
} from './containerd-client.js';
import type { Process } from './containerd-types.js';
import { getContainer, rootfsMounts } from './containers.js';
import { withMounted } from './host-mounts.js';
import { BASE_PROCESS_EXTENSION, containerDir, containerdId, LABELS } from './ids.js';
import {
  initArgs,
  mergeEnv,
  type OciProcess,
  type OciSpec,
  PROCESS_TYPE_URL,
  SPEC_TYPE_URL,
  toAny,
} from './oci-spec.js';
import {
  drain,
  fifoPaths,
  makeFifos,
  type OutputPipe,
  type ProcessFifos,
  pumpStdin,
  readFifo,
  removeFifos,
  writeFifo,
} from './process-io.js';
import { needsUserDatabase, type ResolvedUser, resolveUser } from './users.js';

/** The signal names of the contract, and their numbers. */
const SIGNALS = constants.signals as Record<string, number>;

/**
 * Run a process in a container and wait for it. The first process becomes the container's task
 * (its init); while that runs, further processes are exec'd into it (what `cc intercept` does);
 * once it has exited, the next process becomes a new task. stdout and stderr stream as `output`
 * messages; the exit status is 128+N when signal N killed the process.
 */
export async function runProcess(
  client: ContainerdClient,
  config: FilledConfig,
  request: runtime.RunRequest,
  context: CallContext<unknown>,
): Promise<runtime.RunResponse> {
  const { handle, processId } = request;
  const container = await getContainer(client, handle);
  const id = container.id;
  const execId = containerdId(processId);
  const fifos = fifoPaths(containerDir(config, id), execId);
  const isInit = container.labels[LABELS.initProcess] === processId;
  if (request.reattach) return reattach(client, id, processId, isInit ? '' : execId, fifos, context);

  const task = await ignoreNotFound(client.call<{ process: Process }>('tasks', 'Get', { container_id: id }));
  const taskRuns = task !== undefined && task.process.status !== 'STOPPED';
  const execExists =
    taskRuns && (await ignoreNotFound(client.call('tasks', 'Get', { container_id: id, exec_id: execId })));
  if ((task && isInit) || execExists) {
    throw new PluginError(
      'CONTAINERD_PROCESS_EXISTS',
      `container ${handle} already ran a process ${processId}; give each process its own id`,
    );
  }

  const tty = request.process.tty === true;
  const withStdin = request.stdin === true;
  await makeFifos(containerDir(config, id), [
    fifos.stdout,
    ...(tty ? [] : [fifos.stderr]),
    ...(withStdin ? [fifos.stdin] : []),
  ]);
  const outputs = openOutputs(fifos, tty, context);
  const stdin = withStdin ? writeFifo(fifos.stdin) : undefined;
  const waiting = new AbortController();
  const io = {
    stdin: withStdin ? fifos.stdin : '',
    stdout: fifos.stdout,
    stderr: tty ? '' : fifos.stderr,
    terminal: tty,
  };

  let exitWait: Promise<{ exit_status: number }>;
  try {
    const spec = JSON.parse(container.spec?.value.toString('utf8') ?? '{}') as OciSpec;
    const stored = container.extensions?.[BASE_PROCESS_EXTENSION]?.value;
    const base = stored ? (JSON.parse(stored.toString('utf8')) as OciProcess) : spec.process;
    if (taskRuns) {
      const user = await userForExec(client, id, request.process.user, handle);
      const process = processFor(base, request.process, user, tty);
      await client.call('tasks', 'Exec', {
        container_id: id,
        exec_id: execId,
        ...io,
        spec: toAny(PROCESS_TYPE_URL, process),
      });
      // Wait before Start, as containerd's client does, so a quick exit is not missed.
      exitWait = client.call(
        'tasks',
        'Wait',
        { container_id: id, exec_id: execId },
        { signal: waiting.signal },
      );
      exitWait.catch(() => undefined);
      await startOrUndo(client, id, execId, waiting, handle, request.process.path);
    } else {
      if (task) await client.call('tasks', 'Delete', { container_id: id });
      const rootfs = await rootfsMounts(client, container);
      const user = needsUserDatabase(request.process.user)
        ? await withMounted(rootfs, containerDir(config, id), (root) =>
            resolveUser(request.process.user, root, `process ${processId}`),
          )
        : request.process.user
          ? await resolveUser(request.process.user, undefined, `process ${processId}`)
          : undefined;
      const process = processFor(base, request.process, user, tty);
      process.args = initArgs(container.labels[LABELS.init], process.args);
      // The task's init runs the container's spec: this process goes into it first.
      await client.call('containers', 'Update', {
        container: {
          id,
          spec: toAny(SPEC_TYPE_URL, { ...spec, process }),
          labels: { [LABELS.initProcess]: processId },
        },
        update_mask: { paths: ['spec', `labels.${LABELS.initProcess}`] },
      });
      await client.call('tasks', 'Create', { container_id: id, rootfs, ...io }).catch((error: unknown) => {
        throw startFailed(handle, request.process.path, error);
      });
      exitWait = client.call('tasks', 'Wait', { container_id: id }, { signal: waiting.signal });
      exitWait.catch(() => undefined);
      await startOrUndo(client, id, '', waiting, handle, request.process.path);
    }
  } catch (error) {
    for (const output of outputs) output.close();
    stdin?.destroy();
    await removeFifos(fifos);
    throw error;
  }

  if (stdin) {
    pumpStdin(context.read(), stdin)
      .then(() =>
        client.call('tasks', 'CloseIO', { container_id: id, exec_id: taskRuns ? execId : '', stdin: true }),
      )
      .catch(() => undefined);
  }
  // The caller's terminal changes size: so does the process's.
  const stopResizing = tty
    ? context.onResize((size) => {
        client
          .call('tasks', 'ResizePty', {
            container_id: id,
            exec_id: taskRuns ? execId : '',
            width: size.columns,
            height: size.rows,
          })
          .catch(() => undefined);
      })
    : () => {};
  let status: runtime.RunResponse;
  try {
    status = await waitFor(exitWait, waiting, outputs, context);
  } finally {
    stopResizing();
  }
  if (taskRuns) {
    // An exec'd process is forgotten once reaped; the init stays until the next run or destroy.
    await ignoreNotFound(client.call('tasks', 'DeleteProcess', { container_id: id, exec_id: execId }));
    await removeFifos(fifos);
  }
  return status;
}

/** Attach again to a process started by an earlier call (before the core restarted). */
async function reattach(
  client: ContainerdClient,
  id: string,
  processId: string,
  execId: string,
  fifos: ProcessFifos,
  context: CallContext<unknown>,
): Promise<runtime.RunResponse> {
  const found = await ignoreNotFound(
    client.call<{ process: Process }>('tasks', 'Get', { container_id: id, exec_id: execId }),
  );
  if (!found || (execId === '' && found.process.id !== id)) {
    throw new PluginError(
      'CONTAINERD_PROCESS_NOT_FOUND',
      `container ${id} has no process ${processId} to reattach to`,
    );
  }
  const tty = found.process.terminal === true;
  const outputs = found.process.status === 'STOPPED' ? [] : openOutputs(fifos, tty, context);
  const waiting = new AbortController();
  const exitWait = client.call<{ exit_status: number }>(
    'tasks',
    'Wait',
    { container_id: id, exec_id: execId },
    { signal: waiting.signal },
  );
  exitWait.catch(() => undefined);
  // The caller's terminal changes size: so does the process's.
  const stopResizing = tty
    ? context.onResize((size) => {
        client
          .call('tasks', 'ResizePty', {
            container_id: id,
            exec_id: execId,
            width: size.columns,
            height: size.rows,
          })
          .catch(() => undefined);
      })
    : () => {};
  let status: runtime.RunResponse;
  try {
    status = await waitFor(exitWait, waiting, outputs, context);
  } finally {
    stopResizing();
  }
  if (execId) {
    await ignoreNotFound(client.call('tasks', 'DeleteProcess', { container_id: id, exec_id: execId }));
    await removeFifos(fifos);
  }
  return status;
}

function openOutputs(fifos: ProcessFifos, tty: boolean, context: CallContext<unknown>): OutputPipe[] {
  const outputs = [readFifo(fifos.stdout, (text) => context.output('stdout', text))];
  if (!tty) outputs.push(readFifo(fifos.stderr, (text) => context.output('stderr', text)));
  return outputs;
}

/** Start a created process; if that fails, delete it so nothing half-made is left. */
async function startOrUndo(
  client: ContainerdClient,
  id: string,
  execId: string,
  waiting: AbortController,
  handle: string,
  path: string,
): Promise<void> {
  try {
    await client.call('tasks', 'Start', { container_id: id, exec_id: execId });
  } catch (error) {
    waiting.abort();
    if (execId)
      await ignoreNotFound(
        client.call('tasks', 'DeleteProcess', { container_id: id, exec_id: execId }),
      ).catch(() => undefined);
    else await ignoreNotFound(client.call('tasks', 'Delete', { container_id: id })).catch(() => undefined);
    throw startFailed(handle, path, error);
  }
}

async function waitFor(
  exitWait: Promise<{ exit_status: number }>,
  waiting: AbortController,
  outputs: OutputPipe[],
  context: CallContext<unknown>,
): Promise<runtime.RunResponse> {
  // The caller giving up stops our waiting, not the process: a later call can reattach.
  const onAbort = () => waiting.abort();
  context.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const { exit_status: exitStatus } = await exitWait;
    await drain(outputs);
    const signal = exitStatus > 128 ? signalName(exitStatus - 128) : undefined;
    return { exitStatus, ...(signal ? { signal } : {}) };
  } catch (error) {
    for (const output of outputs) output.close();
    if (context.signal.aborted) throw context.signal.reason;
    throw error;
  } finally {
    context.signal.removeEventListener('abort', onAbort);
  }
}

/** Send a signal to a process; SIGKILL to a task's init kills every process in the container. */
export async function signalProcess(
  client: ContainerdClient,
  request: runtime.SignalRequest,
): Promise<runtime.SignalResponse> {
  const container = await getContainer(client, request.handle).catch((error: unknown) => {
    if (error instanceof PluginError && error.code === 'CONTAINERD_CONTAINER_NOT_FOUND') return undefined;
    throw error;
  });
  if (!container) return { delivered: false };
  const isInit = container.labels[LABELS.initProcess] === request.processId;
  const execId = isInit ? '' : containerdId(request.processId);
  const signal = SIGNALS[request.signal];
  try {
    await client.call('tasks', 'Kill', {
      container_id: container.id,
      exec_id: execId,
      signal,
      all: isInit && request.signal === 'SIGKILL',
    });
    return { delivered: true };
  } catch (error) {
    // NOT_FOUND: no such process; FAILED_PRECONDITION / NOT_FOUND after exit: nothing to signal.
    if (isNotFound(error) || (error instanceof ContainerdCallError && error.grpcCode === 9))
      return { delivered: false };
    throw error;
  }
}

/** A process spec for `process`, on the base of the container's spec. */
function processFor(
  base: OciProcess,
  process: runtime.ProcessSpec,
  user: ResolvedUser | undefined,
  tty: boolean,
): OciProcess {
  return {
    ...base,
    terminal: tty,
    args: [process.path, ...(process.args ?? [])],
    env: mergeEnv(base.env, [process.env]),
    cwd: process.dir ? posix.resolve(base.cwd, process.dir) : base.cwd,
    ...(user ? { user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids } } : {}),
    ...(tty
      ? { consoleSize: { height: process.ttySize?.rows ?? 24, width: process.ttySize?.columns ?? 80 } }
      : {}),
  };
}

/** Resolve an exec's user through the running task's root (/proc/<pid>/root), as the task sees it. */
async function userForExec(
  client: ContainerdClient,
  id: string,
  user: string | undefined,
  handle: string,
): Promise<ResolvedUser | undefined> {
  if (!user) return undefined;
  if (!needsUserDatabase(user)) return resolveUser(user, undefined, `container ${handle}`);
  const { process } = await client.call<{ process: Process }>('tasks', 'Get', { container_id: id });
  return resolveUser(user, `/proc/${process.pid}/root`, `container ${handle}`);
}

function startFailed(handle: string, path: string, error: unknown): PluginError {
  if (error instanceof PluginError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new PluginError(
    'CONTAINERD_START_FAILED',
    `cannot start ${JSON.stringify(path)} in container ${handle}: ${message}`,
    {
      cause: error,
    },
  );
}

function signalName(number: number): string | undefined {
  return Object.entries(SIGNALS).find(([, n]) => n === number)?.[0];
}
