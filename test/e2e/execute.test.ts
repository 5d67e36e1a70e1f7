import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, type CcServer, startCcServer } from './cc-server.js';

const runJs = fileURLToPath(new URL('../../cli/bin/run.js', import.meta.url));
const run = promisify(execFile);

/** `cc execute` against a real server: uploads, the job's inputs with --inputs-from, downloads. */
describe('cc execute, end to end', () => {
  let home: string;
  let server: CcServer;
  let env: Record<string, string>;

  const cc = async (cwd: string, ...argv: string[]) => {
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVEYOR_')));
    try {
      const { stdout, stderr } = await run(process.execPath, [runJs, ...argv], {
        cwd,
        env: { ...base, NO_COLOR: '1', ...env },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'conveyor-e2e-execute-'));
    await chmod(home, 0o755);
    env = { CONVEYOR_HOME: join(home, 'cli') };
    // Its own runtime and volume directories: another test's server must not see them as orphans.
    const config = join(home, 'conveyor.yaml');
    await writeFile(
      config,
      `runtime: { plugin: local, config: { root: ${join(home, 'containers')} } }\nvolumes: { driver: naive, config: { root: ${join(home, 'volumes')} } }\n`,
    );
    server = await startCcServer(['--data-dir', join(home, 'data'), '-c', config], env);
  }, 120_000);

  afterAll(async () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('runs a task on an uploaded directory and a job input, and downloads its output', async () => {
    const api = apiClient(server.url, server.token ?? '');
    await api('PUT', '/teams/main/pipelines/lib/config', {
      config: `
resources:
  - name: greeting
    type: mock
    check_every: never
    source: { initial_version: v7, create_files: { hello.txt: 'hello from the job' } }
jobs:
  - name: unit
    plan:
      - get: greeting
`,
    });
    await api('POST', '/teams/main/pipelines/lib/resources/greeting/check', {});

    const work = join(home, 'work');
    await mkdir(join(work, 'src'), { recursive: true });
    await writeFile(join(work, 'src', 'name.txt'), 'conveyor\n');
    await writeFile(
      join(work, 'task.yml'),
      `platform: linux
inputs:
  - name: src
  - name: greeting
outputs:
  - name: out
run:
  path: sh
  args:
    - -ec
    - |
      echo "building $(cat src/name.txt) with $(cat greeting/version)"
      { cat greeting/hello.txt; echo; cat src/name.txt; } > out/result.txt
`,
    );
    const result = await cc(
      work,
      'execute',
      '-c',
      'task.yml',
      '-i',
      'src=src',
      '-j',
      'lib/unit',
      '-o',
      `out=${join(work, 'out')}`,
    );
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('building conveyor with v7');
    expect(await readFile(join(work, 'out', 'result.txt'), 'utf8')).toBe('hello from the job\nconveyor\n');
  }, 120_000);
});
