import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ApiDeps, type ApiOptions, buildApi, type PluginSummary } from '@conveyor/core/api';
import { type RunningRegistry, startRegistryMirror } from '@conveyor/registry-mirror';
import { InMemoryApiServices } from '@conveyor/test/harness/api-services.js';
import { samplePluginSummaries } from '@conveyor/test/harness/plugin-summaries.js';

const runJs = fileURLToPath(new URL('../bin/run.js', import.meta.url));
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface CcResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CcOptions {
  /** Written to the child's stdin, which is then closed. */
  stdin?: string;
  cwd?: string;
}

/** The environment of a `cc` child: the developer's own CONVEYOR_* settings must not leak in. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVEYOR_')));
  return { ...base, NO_COLOR: '1', FORCE_COLOR: '0', ...env };
}

/**
 * Runs the real `cc` binary in a child process. Asynchronously: the API server the test talks to
 * lives in this process, and a synchronous spawn would block it from answering.
 */
export function cc(
  args: string[],
  env: Record<string, string> = {},
  options: CcOptions = {},
): Promise<CcResult> {
  const child = startCc(args, env, { stdin: '', ...options });
  return child.exited.then((code) => ({ code: code ?? -1, stdout: child.stdout(), stderr: child.stderr() }));
}

export interface RunningCc {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first match of `pattern` in stdout; rejects if the process exits first. */
  waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>;
  /** Writes to the child's stdin (it stays open). */
  type: (text: string) => void;
  exited: Promise<number | null>;
}

/** Starts `cc` and lets the test watch its output as it comes, and answer on its stdin. */
export function startCc(
  args: string[],
  env: Record<string, string> = {},
  options: CcOptions = {},
): RunningCc {
  const child = spawn(process.execPath, [runJs, ...args], {
    env: childEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of waiters) waiter();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  void exited.then(() => clearTimeout(timer));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    type: (text) => child.stdin?.write(text),
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = stdout.match(pattern);
          if (match !== null) {
            waiters.delete(check);
            resolve(match);
          }
        };
        waiters.add(check);
        check();
        void exited.then((code) =>
          reject(
            new Error(`cc exited with ${code} before ${pattern}:\n${stdout}\n--- stderr ---\n${stderr}`),
          ),
        );
      }),
  };
}

export async function tempHome(): Promise<{ home: string; cleanup: () => Promise<void> }> {
  const home = await mkdtemp(join(tmpdir(), 'cc-home-'));
  return { home, cleanup: () => rm(home, { recursive: true, force: true }) };
}

/**
 * A registry-mirror to publish plugins to: `token` may do anything in the repositories
 * `repositories` matches (e.g. `plugins/**`), anyone may pull. `root` is its storage, which
 * `close` removes too.
 */
export async function startPluginRegistry(
  token: string,
  repositories: string,
): Promise<RunningRegistry & { root: string }> {
  const root = await mkdtemp(join(tmpdir(), 'cc-plugin-registry-'));
  const registry = await startRegistryMirror({
    root,
    port: 0,
    auth: { tokens: [{ token, access: [{ repository: repositories, actions: ['*'] }] }], anonymous: 'pull' },
  });
  return {
    ...registry,
    root,
    async close() {
      await registry.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * A second registry-mirror, for an air-gapped site that `cc plugin mirror` copies to: the token
 * `site-token` may push under `site/`, anyone may pull. `close` also removes its storage.
 */
export function startSiteRegistry(): Promise<RunningRegistry> {
  return startPluginRegistry('site-token', 'site/**');
}

/** A signing key pair made by `cc plugin keygen -o PATH`: the private key's PEM file, the public key's, its id. */
export async function generateSigningKey(path: string): Promise<{ pem: string; pub: string; id: string }> {
  const result = await cc(['plugin', 'keygen', '-o', path, '--json']);
  if (result.code !== 0) throw new Error(`cc plugin keygen failed: ${result.stderr}`);
  const json = JSON.parse(result.stdout) as { privateKey: string; publicKey: string; keyId: string };
  return { pem: json.privateKey, pub: json.publicKey, id: json.keyId };
}

export const adminToken = 'cc_admin_4b1d2c3e4f5a6b7c8d9e';

export const plugins: PluginSummary[] = samplePluginSummaries;

export interface TestApi {
  url: string;
  /** The in-memory world behind the API: what tests script builds, events and checks with. */
  world: InMemoryApiServices;
  close: () => Promise<void>;
}

/** A real API server on a loopback port, backed by the in-memory services of the test harness. */
export async function startApi(
  overrides: Partial<ApiDeps> = {},
  options: { world?: InMemoryApiServices; api?: ApiOptions } = {},
): Promise<TestApi> {
  const world = options.world ?? new InMemoryApiServices();
  const app = await buildApi(
    {
      verifyToken: async (token) => (token === adminToken ? { name: 'admin', role: 'admin' } : null),
      listPlugins: async () => plugins,
      info: { version: '0.1.0', pluginApiVersion: '1.0.0' },
      ...world.services,
      ...overrides,
    },
    options.api,
  );
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, world, close: () => app.close() };
}

/** A loopback URL where nothing listens: a port that was free a moment ago. */
export async function deadUrl(): Promise<string> {
  const api = await startApi();
  await api.close();
  return api.url;
}

export interface CuttableProxy {
  url: string;
  /** The head of every request that went through, in order. */
  requests: () => string[];
  /** Drops every open connection at once, as a network failure would. */
  cut: () => void;
  close: () => Promise<void>;
}

/** A TCP proxy in front of `target` whose connections the test can drop mid-stream. */
export async function startCuttableProxy(target: string): Promise<CuttableProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  const heads: string[] = [];
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    open.add(client);
    open.add(upstream);
    let head = '';
    client.on('data', (chunk: Buffer) => {
      if (!head.includes('\r\n\r\n')) {
        head += chunk.toString('latin1');
        if (head.includes('\r\n\r\n')) heads.push(head.split('\r\n\r\n')[0] ?? head);
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: proxyPort } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${proxyPort}`,
    requests: () => [...heads],
    cut: () => {
      for (const socket of open) socket.destroy();
      open.clear();
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
