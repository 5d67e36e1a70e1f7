/**
 * `cc plugin new resource-type NAME`: what it writes builds with the repository's TypeScript and
 * passes the resource type conformance suite as it is, run the way its author would (`npm test`
 * in the package: vitest with the package as its root).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cc, repoRoot } from './helpers.js';

let work: string;

beforeAll(async () => {
  // Inside the repository, so the package resolves @conveyor/plugin-api, typescript and vitest.
  work = await mkdtemp(join(repoRoot, 'test', '.cc-plugin-new-'));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_COLOR: '1', CI: '' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('cc plugin new resource-type', () => {
  it('writes a package that builds and passes the conformance suite', async () => {
    const made = await cc(['plugin', 'new', 'resource-type', 'hello', '--json'], {}, { cwd: work });
    expect(made.code, made.stderr).toBe(0);
    const dir = join(work, 'hello');
    expect(JSON.parse(made.stdout)).toMatchObject({ name: 'hello', kind: 'resource-type', dir });
    const manifest = JSON.parse(await readFile(join(dir, 'conveyor-plugin.json'), 'utf8'));
    expect(manifest).toMatchObject({ name: 'hello', kind: 'resource-type', version: '1.0.0' });

    const tsc = await run(
      process.execPath,
      [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', dir],
      dir,
    );
    expect(tsc.code, tsc.output).toBe(0);
    expect(await readdir(join(dir, 'dist'))).toContain('index.js');
    // It imports the plugin API and Node's own modules, nothing to bundle.
    const built = await readFile(join(dir, 'dist/index.js'), 'utf8');
    const imports = [...built.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(imports.filter((i) => !i?.startsWith('node:'))).toEqual(['@conveyor/plugin-api']);

    const vitest = join(repoRoot, 'node_modules/vitest/vitest.mjs');
    const test = await run(process.execPath, [vitest, 'run', '--root', dir], dir);
    expect(test.code, test.output).toBe(0);
    expect(test.output).toMatch(/6 passed/);
  });

  it('refuses to write into a directory that is not empty, and a bad name', async () => {
    const again = await cc(['plugin', 'new', 'resource-type', 'hello', '--json'], {}, { cwd: work });
    expect(again.code).not.toBe(0);
    expect(JSON.parse(again.stdout).error.code).toBe('CC_E_CLI_FILE_UNREADABLE');
    const bad = await cc(['plugin', 'new', 'resource-type', 'Hello World', '--json'], {}, { cwd: work });
    expect(bad.code).not.toBe(0);
    expect(JSON.parse(bad.stdout).error.code).toBe('CC_E_CLI_USAGE');
  });
});
