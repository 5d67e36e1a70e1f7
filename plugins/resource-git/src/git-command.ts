import { spawn } from 'node:child_process';

/** How one git command ended badly: its exit status and what it printed, secrets removed. */
export class GitCommandError extends Error {
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;

  constructor(
    args: readonly string[],
    exitCode: number | null,
    stdout: string,
    stderr: string,
    message: string,
  ) {
    super(message);
    this.name = 'GitCommandError';
    this.args = args;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

export interface RunOptions {
  /** The directory git runs in. */
  cwd?: string | undefined;
  /** Text for git's standard input. */
  input?: string | undefined;
  /** Exit statuses that are answers rather than failures (e.g. 1 for `merge-base --is-ancestor`). */
  okExitCodes?: readonly number[] | undefined;
  /** git's standard error as it comes, for progress in the build log. */
  onStderr?: ((text: string) => void) | undefined;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface GitRunner {
  run(args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Text with every secret of this session blanked out. */
  sanitize(text: string): string;
}

export interface RunnerOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Secret strings to blank out of anything git prints before it reaches a message or a log. */
  secrets: readonly string[];
}

/**
 * Run the host's git binary directly (never through a shell), in the environment the session
 * built, killing it when it outlives the timeout.
 */
export function createRunner(options: RunnerOptions): GitRunner {
  const secrets = [...options.secrets]
    .filter((secret) => secret.length >= 3)
    .sort((a, b) => b.length - a.length);
  const sanitize = (text: string): string => {
    // Credentials inside a URL (https://user:token@host/…) go whatever they are.
    let clean = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):[^/\s@]*@/gi, '$1:***@');
    for (const secret of secrets) clean = clean.replaceAll(secret, '***');
    return clean;
  };

  function run(args: readonly string[], runOptions: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('git', args, {
        cwd: runOptions.cwd,
        env: options.env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, options.timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => {
        stderr.push(chunk);
        runOptions.onStderr?.(sanitize(chunk.toString('utf8')));
      });
      child.stdin.on('error', () => {
        // git may exit before reading its input; its exit status tells what happened.
      });
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(
          new GitCommandError(
            args,
            null,
            '',
            '',
            `cannot run git: ${error.message}; is git installed and on PATH?`,
          ),
        );
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        const out = Buffer.concat(stdout).toString('utf8');
        const err = sanitize(Buffer.concat(stderr).toString('utf8'));
        const exitCode = code ?? -1;
        if (!timedOut && (exitCode === 0 || runOptions.okExitCodes?.includes(exitCode))) {
          resolve({ stdout: out, stderr: err, exitCode });
          return;
        }
        const what = `git ${sanitize(args.join(' '))}`;
        const message = timedOut
          ? `${what} did not finish within ${options.timeoutMs} ms and was killed`
          : `${what} failed (exit ${exitCode}): ${lastLines(err) || 'no output'}`;
        reject(new GitCommandError(args, code, sanitize(out), err, message));
      });
      child.stdin.end(runOptions.input ?? '');
    });
  }

  return { run, sanitize };
}

/** The end of what git printed: where the reason is. */
function lastLines(text: string): string {
  return text.trim().split('\n').slice(-4).join(' | ');
}
