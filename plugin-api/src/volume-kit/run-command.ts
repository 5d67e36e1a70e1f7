import { spawn } from 'node:child_process';

/** A command that ran and exited non-zero (or was killed); `stderr` says why, in its words. */
export class CommandFailedError extends Error {
  readonly command: string;
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(command: string, exitCode: number | null, signal: NodeJS.Signals | null, stderr: string) {
    const how = signal ? `was killed by ${signal}` : `exited with ${exitCode}`;
    super(`\`${command}\` ${how}${stderr ? `: ${stderr}` : ''}`);
    this.name = 'CommandFailedError';
    this.command = command;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

/**
 * Run a program without a shell and resolve with its stdout. Rejects with a CommandFailedError when
 * it exits non-zero, and with the spawn error itself (code `ENOENT`) when it is not installed.
 */
export function runCommand(
  file: string,
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(stdout).toString('utf8'));
      else {
        const message = Buffer.concat(stderr).toString('utf8').trim();
        reject(new CommandFailedError([file, ...args].join(' '), code, signal, message));
      }
    });
  });
}
