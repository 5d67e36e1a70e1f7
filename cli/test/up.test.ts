import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cc } from './helpers.js';

const runJs = fileURLToPath(new URL('../bin/run.js', import.meta.url));

interface Up {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first match of `pattern` in stdout; rejects if the process exits first. */
  waitFor: (pattern: RegExp) => Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function startUp(args: string[], env: Record<string, string>): Up {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVEYOR_')));
  const child = spawn(process.execPath, [runJs, 'up', ...args], {
    env: { ...base, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of waiters) waiter();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => `${stdout}\n--- stderr ---\n${stderr}`,
    exited,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = stdout.match(pattern);
          if (match !== null) resolve(match);
        };
        waiters.push(check);
        check();
        void exited.then((code) =>
          reject(new Error(`cc up exited with ${code} before ${pattern}:\n${stdout}\n${stderr}`)),
        );
      }),
  };
}

let cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

describe('cc up', () => {
  it('serves until SIGINT, saves target local with the admin token once, and keeps it on restart', async () => {
    const home = await mkdtemp(join(tmpdir(), 'cc-up-'));
    cleanups.push(() => rm(home, { recursive: true, force: true }));
    // Embedded Postgres runs as the user "postgres", which must be able to reach the data dir.
    await chmod(home, 0o755);
    const env = { CONVEYOR_HOME: home };
    const args = ['--data-dir', join(home, 'data'), '--host', '127.0.0.1', '--port', '0'];

    // 1. First start: the admin token is printed and saved.
    const first = startUp(args, env);
    cleanups.push(async () => {
      if (first.child.exitCode === null) first.child.kill('SIGKILL');
    });
    const [, url] = await first.waitFor(/Conveyor is running at (\S+)/);
    const [, token] = await first.waitFor(/admin token \(shown once; saved in target "local"\): (\S+)/);
    await first.waitFor(/press Ctrl-C/);
    const saved = parse(await readFile(join(home, 'targets.yaml'), 'utf8'));
    expect(saved.current).toBe('local');
    expect(saved.targets.local).toMatchObject({ url, token });

    // 2. The saved target works, and the server lists the built-in plugins.
    const list = await cc(['plugin', 'list', '--json'], env);
    expect(list.code, list.stderr).toBe(0);
    const listed = (JSON.parse(list.stdout) as Array<{ name: string; kind: string; source: string }>)
      .map((p) => `${p.kind}/${p.name}`)
      .sort();
    expect(listed).toEqual([
      'credentials/env',
      'resource-type/concourse',
      'resource-type/git',
      'resource-type/mock',
      'resource-type/registry-image',
      'resource-type/time',
      'runtime/containerd',
      'runtime/local',
      'volume/btrfs',
      'volume/naive',
      'volume/overlay',
    ]);

    // 3. SIGINT closes the server cleanly.
    first.child.kill('SIGINT');
    expect(await first.exited, first.output()).toBe(0);
    expect(first.output()).toContain('stopped');

    // 4. Second start of the same data dir: no new token, the saved one still works.
    const second = startUp(args, env);
    cleanups.push(async () => {
      if (second.child.exitCode === null) second.child.kill('SIGKILL');
    });
    await second.waitFor(/press Ctrl-C/);
    expect(second.output()).not.toContain('admin token');
    const again = await cc(['plugin', 'list'], env);
    expect(again.code, again.stderr).toBe(0);
    second.child.kill('SIGTERM');
    expect(await second.exited, second.output()).toBe(0);
  }, 180_000);
});

describe('cc up after a crash', () => {
  it('restarts on a data dir whose server was SIGKILLed, with its state intact', async () => {
    const home = await mkdtemp(join(tmpdir(), 'cc-up-kill-'));
    cleanups.push(() => rm(home, { recursive: true, force: true }));
    await chmod(home, 0o755);
    const env = { CONVEYOR_HOME: home };
    const args = ['--data-dir', join(home, 'data'), '--host', '127.0.0.1', '--port', '0'];

    const first = startUp(args, env);
    cleanups.push(async () => {
      if (first.child.exitCode === null) first.child.kill('SIGKILL');
    });
    const [, token] = await first.waitFor(/admin token \(shown once; saved in target "local"\): (\S+)/);
    await first.waitFor(/press Ctrl-C/);
    // A kill -9 gives the server no chance to stop its embedded Postgres, which lives on.
    first.child.kill('SIGKILL');
    await first.exited;

    const second = startUp(args, env);
    cleanups.push(async () => {
      if (second.child.exitCode === null) second.child.kill('SIGKILL');
    });
    await second.waitFor(/press Ctrl-C/);
    // No new token: the first start's hashed token is still in the database and still works.
    expect(second.output()).not.toContain('admin token');
    const list = await cc(['plugin', 'list', '--json', '--token', token ?? ''], env);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toHaveLength(11);
    second.child.kill('SIGTERM');
    expect(await second.exited, second.output()).toBe(0);
  }, 180_000);
});

describe('cc up --example', () => {
  it('sets, unpauses and runs the example pipeline, streams its log, then keeps serving', async () => {
    const home = await mkdtemp(join(tmpdir(), 'cc-up-example-'));
    cleanups.push(() => rm(home, { recursive: true, force: true }));
    await chmod(home, 0o755);
    const env = { CONVEYOR_HOME: home };
    const up = startUp(
      ['--example', '--data-dir', join(home, 'data'), '--host', '127.0.0.1', '--port', '0'],
      env,
    );
    cleanups.push(async () => {
      if (up.child.exitCode === null) up.child.kill('SIGKILL');
    });
    await up.waitFor(/see it again with: cc watch -j hello\/say-hello\n/);
    await up.waitFor(/press Ctrl-C/);
    const output = up.output();
    expect(output).toContain('pipeline created!');
    expect(output).toContain("unpaused 'hello'");
    expect(output).toMatch(/started hello\/say-hello #1\n/);
    // The build's own log, between fly's step headers, and its final status.
    expect(output).toMatch(/initializing\nrunning sh -ec [\s\S]*version: hello-1\nHello from Conveyor!/);
    expect(output).toMatch(/running cat shout\/message.txt\nHELLO FROM CONVEYOR!\nsucceeded\n/);
    expect(output).not.toContain('warning:');

    // The server still serves: the build is there for `cc watch` to replay.
    const again = await cc(['watch', '-j', 'hello/say-hello'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('HELLO FROM CONVEYOR!');

    up.child.kill('SIGINT');
    expect(await up.exited, up.output()).toBe(0);
  }, 180_000);
});
