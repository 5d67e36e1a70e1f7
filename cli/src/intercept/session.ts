import type WebSocket from 'ws';
import type { InterceptMessage } from '../client/index.js';
import { CliError } from '../errors/index.js';

/** The local ends of an intercept: the process's terminal or pipes. */
export interface SessionIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: NodeJS.WritableStream;
}

export interface SessionOutcome {
  exitStatus: number;
  signal?: string;
}

/** Stream bytes of a binary frame from the server: the first byte names the stream. */
const kStreams = { 1: 'stdout', 2: 'stderr' } as const;

/**
 * Connects local stdin/stdout/stderr to an open intercept socket until the remote process exits.
 * With `tty`, a terminal stdin is put in raw mode (every key goes to the process, Ctrl-C too) and
 * restored however the session ends, and each resize of the local terminal is sent on.
 */
export async function runSession(socket: WebSocket, io: SessionIo, tty: boolean): Promise<SessionOutcome> {
  const raw = tty && io.stdin.isTTY === true && typeof io.stdin.setRawMode === 'function';
  const send = (frame: Buffer | string) => {
    if (socket.readyState === socket.OPEN) socket.send(frame);
  };
  const onData = (chunk: Buffer | string) => send(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  const onEnd = () => send(JSON.stringify({ type: 'stdin-end' } satisfies InterceptMessage));
  const onResize = () => {
    const { columns, rows } = io.stdout;
    if (columns && rows) send(JSON.stringify({ type: 'resize', columns, rows } satisfies InterceptMessage));
  };

  if (raw) io.stdin.setRawMode?.(true);
  io.stdin.on('data', onData);
  io.stdin.once('end', onEnd);
  // Ended already (while a container was chosen from a list, say): the process reads EOF at once.
  if ((io.stdin as { readableEnded?: boolean }).readableEnded === true) onEnd();
  io.stdin.resume();
  // Node turns SIGWINCH into 'resize' on a terminal stdout.
  if (tty && io.stdout.isTTY) io.stdout.on('resize', onResize);
  try {
    return await new Promise<SessionOutcome>((resolve, reject) => {
      let outcome: SessionOutcome | undefined;
      let failure: CliError | undefined;
      socket.on('message', (data: Buffer, isBinary) => {
        if (isBinary) {
          const stream = kStreams[data[0] as 1 | 2];
          if (stream !== undefined) io[stream].write(data.subarray(1));
          return;
        }
        const message = parseMessage(data.toString('utf8'));
        if (message?.type === 'exit') {
          outcome =
            message.signal === undefined
              ? { exitStatus: message.exit_status }
              : { exitStatus: message.exit_status, signal: message.signal };
        } else if (message?.type === 'error') {
          failure = new CliError(
            'CC_E_CLI_API_ERROR',
            `the server answered ${message.code}: ${message.message}`,
            {
              details: { serverCode: message.code, ...(message.details ?? {}) },
            },
          );
        } else {
          failure = broken('the server sent a frame that is not an intercept message');
          socket.close();
        }
      });
      socket.on('error', (error) => {
        failure ??= broken(`the connection failed (${error.message})`, error);
      });
      socket.once('close', () => {
        if (outcome !== undefined) resolve(outcome);
        else reject(failure ?? broken('the server closed the connection before the process exited'));
      });
      // openIntercept hands the socket over paused, so nothing came before these listeners.
      socket.resume();
    });
  } finally {
    io.stdin.off('data', onData);
    io.stdin.off('end', onEnd);
    io.stdout.off('resize', onResize);
    if (raw) io.stdin.setRawMode?.(false);
    // A stdin still flowing would keep the process alive after the session.
    io.stdin.pause();
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close();
  }
}

function parseMessage(text: string): InterceptMessage | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && 'type' in value
      ? (value as InterceptMessage)
      : null;
  } catch {
    return null;
  }
}

function broken(why: string, cause?: unknown): CliError {
  return new CliError('CC_E_CLI_INTERCEPT_BROKEN', `intercept ended: ${why}`, {
    ...(cause === undefined ? {} : { cause }),
    hint: 'the step goes on; run cc intercept again',
  });
}
