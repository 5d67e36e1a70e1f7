import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { adminToken, cc, startApi, tempHome } from './helpers.js';

let home: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ home, cleanup } = await tempHome());
});
afterEach(async () => {
  await cleanup();
});

let api: { url: string; close: () => Promise<void> };
beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  await api.close();
});

describe('cc targets', () => {
  it('prints an empty JSON list when nothing is saved', async () => {
    const { code, stdout } = await cc(['targets', '--json'], { CONVEYOR_HOME: home });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([]);
  });

  it('lists what cc login saved, marks the current one, never prints tokens', async () => {
    const env = { CONVEYOR_HOME: home };
    expect((await cc(['login', '--url', api.url, '--token', adminToken, '-t', 'one'], env)).code).toBe(0);
    expect((await cc(['login', '--url', `${api.url}/`, '--token', adminToken, '-t', 'two'], env)).code).toBe(
      0,
    );

    const json = await cc(['targets', '--json'], env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      { name: 'one', url: api.url, current: false },
      { name: 'two', url: api.url, current: true },
    ]);
    const table = await cc(['targets'], env);
    expect(table.stdout.split('\n')[0]).toMatch(/^\s+NAME\s+URL$/);
    expect(table.stdout).toMatch(/\* {2}two {2}/);
    expect(json.stdout + table.stdout).not.toContain(adminToken);
  });

  it('saves tokens in a file only its owner can read', async () => {
    const env = { CONVEYOR_HOME: home };
    const login = await cc(['login', '--url', api.url, '--token', adminToken, '-t', 'ci', '--json'], env);
    expect(login.code).toBe(0);
    const file = join(home, 'targets.yaml');
    expect(JSON.parse(login.stdout)).toEqual({ target: 'ci', url: api.url, file });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(parse(await readFile(file, 'utf8'))).toEqual({
      current: 'ci',
      targets: { ci: { url: api.url, token: adminToken } },
    });
  });

  it('does not save a target whose token the server rejects', async () => {
    const env = { CONVEYOR_HOME: home };
    const { code, stderr } = await cc(['login', '--url', api.url, '--token', 'wrong', '-t', 'ci'], env);
    expect(code).toBe(1);
    expect(stderr).toContain('CC_E_CLI_UNAUTHORIZED');
    expect(JSON.parse((await cc(['targets', '--json'], env)).stdout)).toEqual([]);
  });

  it('reports an unparsable targets file with its path and line', async () => {
    await mkdir(home, { recursive: true });
    await writeFile(join(home, 'targets.yaml'), 'targets:\n  ci: [url\n');
    const { code, stdout } = await cc(['targets', '--json'], { CONVEYOR_HOME: home });
    expect(code).toBe(1);
    const { error } = JSON.parse(stdout);
    expect(error.code).toBe('CC_E_CLI_TARGETS_INVALID');
    expect(error.message).toContain(join(home, 'targets.yaml'));
    expect(error.message).toMatch(/line \d+/);
  });
});
