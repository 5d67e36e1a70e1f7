import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A real `git daemon` on loopback serving bare repositories from a temporary directory, with
 * pushes allowed, and helpers to make history in those repositories the way a developer would
 * push it. Commit and tag dates come from a clock that ticks a minute per object, so order by
 * date is deterministic.
 */
export interface GitDaemon {
  readonly port: number;
  /** The directory the daemon serves (`--base-path`). */
  readonly baseDir: string;
  /** `git://127.0.0.1:<port>/<name>.git`, also for repositories that do not exist. */
  url(name: string): string;
  /** Create a bare repository; its first branch is `main` unless told otherwise. */
  createRepo(name: string, options?: { initialBranch?: string }): Promise<TestRepo>;
  stop(): Promise<void>;
}

export interface CommitOptions {
  /** Files to write (path → content) or delete (path → null), on top of the parent's tree. */
  files?: Record<string, string | null>;
  message?: string;
  /** The branch to commit onto; created from `from` (or as an orphan) when it does not exist. */
  branch?: string;
  /** Where a new branch starts. */
  from?: string;
  author?: { name: string; email: string };
}

export interface TestRepo {
  readonly name: string;
  /** The bare repository's directory. */
  readonly dir: string;
  /** Its `git://` address on the daemon. */
  readonly url: string;
  /** Its `file://` address. */
  readonly fileUrl: string;
  /** Add a commit on a branch (default `main`) and return its hash. */
  commit(options?: CommitOptions): Promise<string>;
  /** Tag a commit (default: the tip of `main`); annotated when a message is given. */
  tag(name: string, options?: { ref?: string; message?: string }): Promise<string>;
  /** The commit a ref points at. */
  revParse(ref: string): Promise<string>;
  /** Run git in the bare repository. */
  git(...args: string[]): Promise<string>;
}

const BASE_TIME = 1_700_000_000;

/** Environment for git that ignores the machine's own configuration. */
export function isolatedGitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: tmpdir(),
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    ...extra,
  };
}

/** Run git without a shell; resolve with stdout, reject with stderr in the message. */
export function git(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: options.cwd,
      env: options.env ?? isolatedGitEnv(),
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(stdout).toString('utf8'));
      else
        reject(new Error(`git ${args.join(' ')} exited ${code}: ${Buffer.concat(stderr).toString('utf8')}`));
    });
    // git may exit before it reads its input; its exit status says what happened.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input);
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port from the OS');
  return address.port;
}

async function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startGitDaemon(): Promise<GitDaemon> {
  const baseDir = await mkdtemp(join(tmpdir(), 'conveyor-git-daemon-'));
  let tick = 0;
  const dates = () => {
    const date = `@${BASE_TIME + ++tick * 60} +0000`;
    return { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
  };

  let child: ChildProcess | undefined;
  let port = 0;
  // Another process may take the port between freePort and the daemon's bind: try a few.
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    const candidate = spawn(
      'git',
      [
        'daemon',
        '--export-all',
        '--enable=receive-pack',
        '--informative-errors',
        '--reuseaddr',
        `--base-path=${baseDir}`,
        '--listen=127.0.0.1',
        `--port=${port}`,
        baseDir,
      ],
      { env: isolatedGitEnv(), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let exited = false;
    candidate.once('exit', () => {
      exited = true;
    });
    candidate.stderr?.resume();
    for (let waited = 0; waited < 5000 && !exited; waited += 25) {
      if (await accepting(port)) {
        child = candidate;
        break;
      }
      await sleep(25);
    }
    if (!child && !exited) candidate.kill('SIGKILL');
  }
  if (!child) {
    await rm(baseDir, { recursive: true, force: true });
    throw new Error('git daemon did not start');
  }
  const daemon = child;

  const url = (name: string) => `git://127.0.0.1:${port}/${name}.git`;

  async function createRepo(name: string, options: { initialBranch?: string } = {}): Promise<TestRepo> {
    const dir = join(baseDir, `${name}.git`);
    await git(['init', '--quiet', '--bare', `--initial-branch=${options.initialBranch ?? 'main'}`, dir]);
    const inRepo = (args: string[], extra: { env?: Record<string, string>; input?: string } = {}) =>
      git(args, {
        cwd: dir,
        env: isolatedGitEnv(extra.env),
        ...(extra.input === undefined ? {} : { input: extra.input }),
      });

    const revParse = async (ref: string) => (await inRepo(['rev-parse', '--verify', '--quiet', ref])).trim();
    const tryRevParse = (ref: string) => revParse(ref).catch(() => undefined);

    async function commit(options: CommitOptions = {}): Promise<string> {
      const branch = options.branch ?? 'main';
      const parent =
        (await tryRevParse(`refs/heads/${branch}^{commit}`)) ??
        (options.from ? await revParse(`${options.from}^{commit}`) : undefined);
      // Build the tree in a private index, so no working tree is needed.
      const index = join(baseDir, `.index-${name}-${tick}`);
      const env = { GIT_INDEX_FILE: index };
      try {
        if (parent) await inRepo(['read-tree', parent], { env });
        else await inRepo(['read-tree', '--empty'], { env });
        for (const [path, content] of Object.entries(
          options.files ?? { [`file-${tick + 1}.txt`]: `${tick + 1}\n` },
        )) {
          if (content === null) {
            await inRepo(['update-index', '--force-remove', '--', path], { env });
          } else {
            const blob = (await inRepo(['hash-object', '-w', '--stdin'], { input: content })).trim();
            await inRepo(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], { env });
          }
        }
        const tree = (await inRepo(['write-tree'], { env })).trim();
        const author = options.author ?? { name: 'Ada Lovelace', email: 'ada@example.com' };
        const sha = (
          await inRepo(['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-F', '-'], {
            env: {
              ...dates(),
              GIT_AUTHOR_NAME: author.name,
              GIT_AUTHOR_EMAIL: author.email,
              GIT_COMMITTER_NAME: 'Charles Babbage',
              GIT_COMMITTER_EMAIL: 'charles@example.com',
            },
            input: options.message ?? `commit ${tick}\n`,
          })
        ).trim();
        await inRepo([
          'update-ref',
          `refs/heads/${branch}`,
          sha,
          ...(parent && !options.from ? [parent] : []),
        ]);
        return sha;
      } finally {
        await rm(index, { force: true });
      }
    }

    async function tag(tagName: string, options: { ref?: string; message?: string } = {}): Promise<string> {
      const target = options.ref ?? 'refs/heads/main';
      const identity = { GIT_COMMITTER_NAME: 'Release Bot', GIT_COMMITTER_EMAIL: 'release@example.com' };
      if (options.message === undefined) {
        // A lightweight tag's date is its commit's: bump the clock anyway so dates stay in order.
        dates();
        await inRepo(['tag', tagName, target]);
      } else {
        await inRepo(['tag', '-a', '-m', options.message, tagName, target], {
          env: { ...dates(), ...identity },
        });
      }
      return revParse(`refs/tags/${tagName}^{commit}`);
    }

    return {
      name,
      dir,
      url: url(name),
      fileUrl: `file://${dir}`,
      commit,
      tag,
      revParse,
      git: (...args) => inRepo(args),
    };
  }

  return {
    port,
    baseDir,
    url,
    createRepo,
    async stop() {
      if (daemon.exitCode === null && daemon.signalCode === null) {
        const exited = new Promise((resolve) => daemon.once('exit', resolve));
        daemon.kill('SIGTERM');
        await exited;
      }
      await rm(baseDir, { recursive: true, force: true });
    },
  };
}

/** A git server over HTTP(S)'s smart protocol, behind Basic authentication. */
export interface GitHttpServer {
  /** `http://127.0.0.1:<port>/<name>.git` for a repository of the daemon's base directory. */
  url(name: string): string;
  /** Basic-auth attempts seen, by outcome: what a test can check credentials with. */
  readonly attempts: { accepted: number; refused: number };
  stop(): Promise<void>;
}

/**
 * Serve the repositories of `baseDir` over HTTP with `git http-backend` (as CGI), admitting only
 * `username`/`password`. Pushes are allowed for the admitted user.
 */
export async function startGitHttpServer(
  baseDir: string,
  credentials: { username: string; password: string },
): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const attempts = { accepted: 0, refused: 0 };
  const server = createHttpServer((req, res) => {
    if (req.headers.authorization !== expected) {
      if (req.headers.authorization) attempts.refused++;
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end('authentication required\n');
      return;
    }
    attempts.accepted++;
    serveCgi(baseDir, credentials.username, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the HTTP server has no port');
  return {
    url: (name) => `http://127.0.0.1:${address.port}/${name}.git`,
    attempts,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function serveCgi(baseDir: string, user: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const child = spawn('git', ['http-backend'], {
    env: isolatedGitEnv({
      GIT_PROJECT_ROOT: baseDir,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? 'GET',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
      // Protocol v2 is asked for in a header; http-backend reads it from the environment.
      ...(req.headers['git-protocol'] ? { HTTP_GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      REMOTE_USER: user,
      REMOTE_ADDR: '127.0.0.1',
    }),
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  req.pipe(child.stdin);
  child.stdin.on('error', () => {});
  // CGI output: header lines, a blank line, then the body.
  let head = Buffer.alloc(0);
  let body = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (body) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    let status = 200;
    for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.writeHead(status);
    body = true;
    res.write(head.subarray(end + 4));
  });
  child.on('close', () => res.end());
}
