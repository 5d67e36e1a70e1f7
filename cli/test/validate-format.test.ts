import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cc, tempHome } from './helpers.js';

let home: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ home, cleanup } = await tempHome());
});
afterAll(async () => {
  await cleanup();
});

async function file(name: string, text: string): Promise<void> {
  await writeFile(join(home, name), text);
}

// No CONVEYOR_URL and no target: these commands need no server.
const run = (args: string[]) => cc(args, { CONVEYOR_HOME: home }, { cwd: home });

describe('cc validate-pipeline', () => {
  it('says "looks good" about a valid config, even with resource types only a server knows', async () => {
    await file(
      'good.yml',
      'resources:\n  - name: repo\n    type: some-plugin@^2\njobs:\n  - name: unit\n    plan:\n      - get: repo\n',
    );
    expect(await run(['validate-pipeline', '-c', 'good.yml'])).toEqual({
      code: 0,
      stdout: 'looks good\n',
      stderr: '',
    });
  });

  it('prints every problem as file:line:column: path: message and exits 1', async () => {
    await file(
      'bad.yml',
      [
        'resources:',
        '  - name: repo',
        '    type: mock',
        'jobs:',
        '  - name: unit',
        '    plan:',
        '      - get: repo',
        '      - get: nope',
        '  - name: lint',
        '    plan:',
        '      - get: repo',
        '        passed: [missing]',
        '',
      ].join('\n'),
    );
    const { code, stdout, stderr } = await run(['validate-pipeline', '-c', 'bad.yml']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.split('\n');
    expect(lines.slice(0, 2)).toEqual([
      'bad.yml:8:14: jobs[0].plan[1].get: unknown resource `nope` (it is not in `resources`)',
      'bad.yml:12:18: jobs[1].plan[0].passed[0]: unknown job `missing`',
    ]);
    expect(stderr).toContain('Error: bad.yml is invalid (2 errors)');
    expect(stderr).toContain('Code: CC_E_CLI_PIPELINE_INVALID');

    const json = await run(['validate-pipeline', '-c', 'bad.yml', '--json']);
    expect(json.code).toBe(1);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout).error).toMatchObject({
      code: 'CC_E_CLI_PIPELINE_INVALID',
      details: {
        file: 'bad.yml',
        problems: [
          { line: 8, column: 14 },
          { line: 12, column: 18 },
        ],
      },
    });
  });

  it('prints warnings and passes, unless --strict', async () => {
    await file(
      'warn.yml',
      'shared: &anchor\n  a: 1\nresources:\n  - name: repo\n    type: mock\njobs:\n  - name: unit\n    plan:\n      - get: repo\n',
    );
    const lax = await run(['validate-pipeline', '-c', 'warn.yml']);
    expect(lax.code).toBe(0);
    expect(lax.stdout).toBe('looks good\n');
    expect(lax.stderr).toMatch(/^warn\.yml:1:1: warning: shared: is not a pipeline field/);

    const strict = await run(['validate-pipeline', '-c', 'warn.yml', '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/^warn\.yml:1:1: warning: shared: /);
    expect(strict.stderr).toContain('warn.yml is invalid (1 warning)');

    const json = await run(['validate-pipeline', '-c', 'warn.yml', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      file: 'warn.yml',
      valid: true,
      problems: [{ severity: 'warning' }],
    });
  });

  it('applies static vars before validating, as set-pipeline would', async () => {
    await file(
      'vars.yml',
      'resources:\n  - name: repo\n    type: mock\njobs:\n  - name: unit\n    plan:\n      - get: ((input))\n',
    );
    const without = await run(['validate-pipeline', '-c', 'vars.yml']);
    expect(without.code).toBe(1);
    const withVar = await run(['validate-pipeline', '-c', 'vars.yml', '-v', 'input=repo']);
    expect(withVar).toMatchObject({ code: 0, stdout: 'looks good\n' });
  });
});

describe('cc format-pipeline', () => {
  const messy =
    '# the pipeline\njobs:\n  - plan:\n      - get: repo\n        trigger: true\n    name: unit\nresources:\n  - type: mock\n    name: repo\n';
  const tidy =
    '# the pipeline\nresources:\n- name: repo\n  type: mock\njobs:\n- name: unit\n  plan:\n  - get: repo\n    trigger: true\n';

  it('prints the config in the canonical layout, comments kept', async () => {
    await file('messy.yml', messy);
    expect(await run(['format-pipeline', '-c', 'messy.yml'])).toEqual({ code: 0, stdout: tidy, stderr: '' });
    expect(await readFile(join(home, 'messy.yml'), 'utf8')).toBe(messy);
  });

  it('rewrites the file with -w, and formatting again changes nothing', async () => {
    await file('rewrite.yml', messy);
    expect(await run(['format-pipeline', '-c', 'rewrite.yml', '-w'])).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
    expect(await readFile(join(home, 'rewrite.yml'), 'utf8')).toBe(tidy);
    expect((await run(['format-pipeline', '-c', 'rewrite.yml'])).stdout).toBe(tidy);
  });

  it('refuses a file that is not YAML, at its line', async () => {
    await file('broken.yml', 'jobs: [\n');
    const { code, stderr } = await run(['format-pipeline', '-c', 'broken.yml', '-w']);
    expect(code).toBe(1);
    expect(stderr.split('\n')[0]).toMatch(/^broken\.yml:\d+:\d+: is not valid YAML: /);
    expect(await readFile(join(home, 'broken.yml'), 'utf8')).toBe('jobs: [\n');
  });
});
