/**
 * The launcher: a small, long-lived process that starts a plugin worker's step processes for it.
 * Forking is paid per page of the forking process's memory, and while a process forks its other
 * threads wait on its memory map: a server that forks every step spends its own CPU and stalls its
 * main thread. This process is small, so its forks are cheap, and they stall nobody else.
 * It ends when the worker that started it goes (its IPC channel closes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { FromLauncher, ToLauncher } from './launcher-messages.js';

const children = new Map<number, ChildProcess>();
/** Started but not yet recorded by the runtime: nobody else knows of them. */
const unadopted = new Set<number>();

function send(message: FromLauncher): void {
  process.send?.(message);
}

function start(request: Extract<ToLauncher, { type: 'spawn' }>): void {
  const { id } = request;
  const child = spawn(request.path, request.args, {
    cwd: request.cwd,
    env: request.env,
    // Its own process group, so the runtime can signal the whole tree with kill(-pgid).
    detached: true,
    stdio: [request.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) {
    child.once('error', (error: NodeJS.ErrnoException) =>
      send({ type: 'spawn-error', id, code: error.code, message: error.message }),
    );
    return;
  }
  children.set(id, child);
  unadopted.add(child.pid);
  send({ type: 'spawned', id, pid: child.pid });
  child.on('error', () => {
    // After a successful spawn only kill() reports here; the exit status says what happened.
  });
  child.stdin?.on('error', () => {
    // EPIPE when the process exits without reading all of its input: not the step's error.
  });
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream]?.on('data', (chunk: Buffer) => send({ type: 'output', id, stream, chunk }));
  }
  // 'close' comes after both output streams ended: the exit message is the last one for `id`.
  child.once('close', (code, signal) => {
    children.delete(id);
    if (child.pid !== undefined) unadopted.delete(child.pid);
    send({ type: 'exit', id, code, signal });
  });
}

process.on('message', (message: ToLauncher) => {
  switch (message.type) {
    case 'spawn':
      start(message);
      break;
    case 'stdin':
      children.get(message.id)?.stdin?.write(message.chunk);
      break;
    case 'stdin-end':
      children.get(message.id)?.stdin?.end();
      break;
    case 'adopted': {
      const pid = children.get(message.id)?.pid;
      if (pid !== undefined) unadopted.delete(pid);
      break;
    }
  }
});

// The worker is gone. Recorded processes are the runtime's to reap after a restart; one it had no
// time to record would be found by nobody, so it goes now.
process.on('disconnect', () => {
  for (const pid of unadopted) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  process.exit(0);
});
