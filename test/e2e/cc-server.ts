import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export { processRuns } from '../harness/processes.js';

const runJs = fileURLToPath(new URL('../../cli/bin/run.js', import.meta.url));

/** A `cc up` process, as a user starts it, with its URL and admin token once it is ready. */
export interface CcServer {
  child: ChildProcess;
  url: string;
  /** Only on the first start of a data dir. */
  token: string | undefined;
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM and wait. */
  stop(): Promise<number | null>;
}

export async function startCcServer(args: string[], env: Record<string, string>): Promise<CcServer> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVEYOR_')));
  const child = spawn(process.execPath, [runJs, 'up', '--port', '0', '--host', '127.0.0.1', ...args], {
    env: { ...base, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const output = () => `${stdout}\n--- stderr ---\n${stderr.slice(-5000)}`;
  await new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (stdout.includes('press Ctrl-C')) {
        clearInterval(check);
        resolve();
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(check);
      reject(new Error(`cc up exited with ${code} before it was ready:\n${output()}`));
    });
  });
  const url = /Conveyor is running at (\S+)/.exec(stdout)?.[1];
  if (!url) throw new Error(`cc up printed no URL:\n${output()}`);
  const token = /admin token \([^)]*\): (\S+)/.exec(stdout)?.[1];
  return {
    child,
    url,
    token,
    output,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

const run = promisify(execFile);

/** What a `cc` command ended with. */
export interface CcResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `cc ARGV…` as a user runs it, in an environment of the test's (CONVEYOR_HOME: where `cc up`
 * saved its target) and none of the caller's CONVEYOR_* variables; never rejects.
 */
export function ccCommand(env: Record<string, string>): (...argv: string[]) => Promise<CcResult> {
  return async (...argv) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVEYOR_')));
    try {
      const { stdout, stderr } = await run(process.execPath, [runJs, ...argv], {
        env: { ...base, NO_COLOR: '1', ...env },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
}

/** Calls the API with the admin token; rejects on a non-2xx answer, with its body. */
export function apiClient(url: string, token: string) {
  return async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * A conveyor.yaml for a server on the test's containerd: its own containerd namespace, and the
 * runtime's state and the naive driver's volumes under `scratch`.
 */
export function containerdServerConfig(options: {
  address: string;
  namespace: string;
  scratch: string;
}): string {
  return `runtime:
  plugin: containerd
  config:
    address: ${options.address}
    namespace: ${options.namespace}
    stateDir: ${join(options.scratch, 'state')}
volumes: { driver: naive, config: { root: ${join(options.scratch, 'volumes')} } }
`;
}
