import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PluginError } from '@conveyor/plugin-api';
import type { FromLauncher, ToLauncher } from './launcher-messages.js';

const LAUNCHER_SCRIPT = fileURLToPath(new URL('./launcher-process.js', import.meta.url));

export interface LaunchOptions {
  path: string;
  args: string[];
  cwd: string;
  env: Record<string, string | undefined>;
  stdin: boolean;
}

/** A process the launcher started. */
export interface LaunchedProcess {
  pid: number;
  /** Sets the one receiver of the process's output; what came before is handed to it at once. */
  onOutput(listener: OutputListener): void;
  /** Resolves when the process has exited and all its output has been delivered. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Says the process is recorded: should this worker die, the launcher leaves it running. */
  adopted(): void;
  writeStdin(chunk: Uint8Array): void;
  endStdin(): void;
}

type OutputListener = (stream: 'stdout' | 'stderr', chunk: Buffer) => void;

interface Pending {
  started: (pid: number) => void;
  failed: (error: Error) => void;
  listener?: OutputListener;
  /** Output that came before a listener was set (several IPC messages can arrive in one tick). */
  early: Array<[stream: 'stdout' | 'stderr', chunk: Buffer]>;
  exited?: (status: { code: number | null; signal: NodeJS.Signals | null }) => void;
  lost?: (error: Error) => void;
}

/**
 * Starts step processes through a launcher process (launcher-process.ts) instead of forking this
 * worker's whole server process for each; one launcher per worker thread, started on first use
 * and started again if it dies. Processes are detached into their own process groups exactly as a
 * direct spawn would make them.
 */
export class Launcher {
  #child: ChildProcess | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  launch(options: LaunchOptions): Promise<LaunchedProcess> {
    const child = this.#launcher();
    const id = this.#nextId++;
    return new Promise<LaunchedProcess>((resolve, reject) => {
      const pending: Pending = {
        early: [],
        failed: reject,
        started: (pid) => {
          const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
            (resolveExit, rejectExit) => {
              pending.exited = resolveExit;
              pending.lost = rejectExit;
            },
          );
          resolve({
            pid,
            exited,
            onOutput: (listener) => {
              pending.listener = listener;
              for (const [stream, chunk] of pending.early.splice(0)) listener(stream, chunk);
            },
            adopted: () => this.#send({ type: 'adopted', id }),
            writeStdin: (chunk) => this.#send({ type: 'stdin', id, chunk }),
            endStdin: () => this.#send({ type: 'stdin-end', id }),
          });
        },
      };
      this.#pending.set(id, pending);
      this.#send({ type: 'spawn', id, ...options }, child);
    });
  }

  #launcher(): ChildProcess {
    if (this.#child?.connected) return this.#child;
    const child = fork(LAUNCHER_SCRIPT, [], {
      // Not the server's flags (--cpu-prof, --import hooks, heap sizes): the launcher is small.
      execArgv: ['--max-old-space-size=64'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    child.on('message', (message: FromLauncher) => this.#receive(message));
    child.on('error', () => {
      // Reported through 'exit' below, which fails what was in flight.
    });
    child.once('exit', (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      const error = new PluginError(
        'LOCAL_LAUNCHER_EXITED',
        `the local runtime's launcher process ended (${signal ?? `exit ${code}`}) while processes ran; the steps it was watching error`,
      );
      for (const [id, pending] of this.#pending) {
        this.#pending.delete(id);
        if (pending.lost) pending.lost(error);
        else pending.failed(error);
      }
    });
    // Neither the launcher nor its channel keeps the worker alive.
    child.unref();
    child.channel?.unref();
    this.#child = child;
    return child;
  }

  #send(message: ToLauncher, child = this.#child): void {
    child?.send(message);
  }

  #receive(message: FromLauncher): void {
    const pending = this.#pending.get(message.id);
    if (!pending) return;
    switch (message.type) {
      case 'spawned':
        pending.started(message.pid);
        break;
      case 'spawn-error': {
        this.#pending.delete(message.id);
        const error = Object.assign(new Error(message.message), { code: message.code });
        pending.failed(error);
        break;
      }
      case 'output': {
        const chunk = Buffer.from(message.chunk);
        if (pending.listener) pending.listener(message.stream, chunk);
        else pending.early.push([message.stream, chunk]);
        break;
      }
      case 'exit':
        this.#pending.delete(message.id);
        pending.exited?.({ code: message.code, signal: message.signal });
        break;
    }
  }
}
