import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { constants, openSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How long output may trail the exit of its process (a daemon it left may hold the pipe). */
const DRAIN_MS = 5_000;

/**
 * A process's stdio as named pipes in its container's directory: the shim writes stdout/stderr
 * into them and reads stdin from one. Being files, they outlive the call that made them, so a
 * later call (after the core restarted) can open them again and reattach.
 */
export interface ProcessFifos {
  stdin: string;
  stdout: string;
  stderr: string;
}

export function fifoPaths(dir: string, processId: string): ProcessFifos {
  return {
    stdin: join(dir, `${processId}.stdin`),
    stdout: join(dir, `${processId}.stdout`),
    stderr: join(dir, `${processId}.stderr`),
  };
}

/** Node has no mkfifo(3): coreutils' mkfifo makes them. */
export async function makeFifos(dir: string, paths: readonly string[]): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Left over from a process of the same id whose call died before it cleaned up.
  for (const path of paths) await rm(path, { force: true });
  await run('mkfifo', ['-m', '0600', ...paths]);
}

export async function removeFifos(fifos: ProcessFifos): Promise<void> {
  await Promise.all(Object.values(fifos).map((path) => rm(path, { force: true })));
}

export interface OutputPipe {
  /** Resolves when the writer closed the pipe and everything was read. */
  readonly ended: Promise<void>;
  close(): void;
}

/**
 * Read a FIFO without blocking a thread: opened O_NONBLOCK (which succeeds before a writer comes)
 * and handed to libuv as a pipe. Linux reports no hang-up until a writer has come and gone, so the
 * reader waits for the shim, then gets end-of-file when the shim closes its end.
 */
export function readFifo(path: string, onText: (text: string) => void): OutputPipe {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const socket = new Socket({ fd, readable: true, writable: false });
  // A decoder per stream: a chunk may end inside a multi-byte character.
  const decoder = new StringDecoder('utf8');
  socket.on('data', (chunk: Buffer) => {
    const text = decoder.write(chunk);
    if (text) onText(text);
  });
  const ended = new Promise<void>((resolve) => {
    socket.once('close', () => {
      const rest = decoder.end();
      if (rest) onText(rest);
      resolve();
    });
  });
  socket.on('error', () => socket.destroy());
  return { ended, close: () => socket.destroy() };
}

/**
 * Open a FIFO for writing stdin. O_RDWR never blocks and never fails for want of a reader (a
 * Linux guarantee for FIFOs); what we write waits in the pipe until the shim reads it.
 */
export function writeFifo(path: string): Socket {
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  const socket = new Socket({ fd, readable: false, writable: true });
  // EPIPE when the process exits without reading all of it: not an error of the step.
  socket.on('error', () => socket.destroy());
  return socket;
}

/** Copy the caller's stdin into the FIFO, then close it so the process sees end-of-file. */
export async function pumpStdin(input: AsyncIterable<Uint8Array>, stdin: Socket): Promise<void> {
  try {
    for await (const chunk of input) {
      if (stdin.destroyed) return;
      if (!stdin.write(chunk)) await Promise.race([once(stdin, 'drain'), once(stdin, 'close')]);
    }
  } finally {
    if (!stdin.destroyed) {
      await new Promise<void>((resolve) => stdin.end(resolve));
      stdin.destroy();
    }
  }
}

/** Wait for output to finish after the process exited, up to a bound. */
export async function drain(pipes: readonly OutputPipe[]): Promise<void> {
  const all = Promise.all(pipes.map((p) => p.ended));
  await Promise.race([all, sleep(DRAIN_MS)]);
  for (const pipe of pipes) pipe.close();
}
