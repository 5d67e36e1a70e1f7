/**
 * `cc plugin info` and `cc plugin search` as a user runs them: the real `cc` against a real
 * registry-mirror on loopback holding signed, unsigned and incompatible plugin versions.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningRegistry } from '@conveyor/registry-mirror';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PluginInfo, SearchHit } from '../src/plugin-dist/info.js';
import { cc, generateSigningKey, repoRoot, startPluginRegistry } from './helpers.js';

const fixtures = join(repoRoot, 'test', 'fixtures', 'plugins');
const token = 'publisher-token';

let work: string;
let registry: RunningRegistry;
let registryUrl: string;
const keys: Record<'a' | 'b', { pem: string; pub: string; id: string }> = {} as never;

async function publish(dir: string, ...extra: string[]): Promise<string> {
  const result = await cc([
    'plugin',
    'publish',
    dir,
    '--registry',
    registryUrl,
    '--token',
    token,
    '--json',
    ...extra,
  ]);
  expect(result.code, result.stderr + result.stdout).toBe(0);
  return (JSON.parse(result.stdout) as { digest: string }).digest;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'cc-plugin-info-work-'));
  registry = await startPluginRegistry(token, 'plugins/**');
  registryUrl = `${registry.url}/plugins`;
  for (const name of ['a', 'b'] as const) keys[name] = await generateSigningKey(join(work, `key-${name}`));
  await publish(join(fixtures, 'echo-v1'), '--sign-key', keys.a.pem);
  await publish(join(fixtures, 'echo-v2'), '--sign-key', keys.b.pem);
  await publish(join(fixtures, 'incompatible'), '--sign-key', keys.a.pem);
  // 2.7.0 of the same plugin, for this host's API and unsigned.
  const v2 = join(work, 'incompatible-2.7.0');
  await mkdir(v2);
  await cp(join(fixtures, 'incompatible', 'index.js'), join(v2, 'index.js'));
  const manifest = JSON.parse(await readFile(join(fixtures, 'incompatible', 'conveyor-plugin.json'), 'utf8'));
  await writeFile(
    join(v2, 'conveyor-plugin.json'),
    JSON.stringify({ ...manifest, version: '2.7.0', apiVersion: '^1.0' }),
  );
  await publish(v2);
  await publish(join(fixtures, 'faulty'));
}, 120_000);

afterAll(async () => {
  await registry?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

function info(...args: string[]) {
  return cc(['plugin', 'info', ...args, '--registry', registryUrl, '--data-dir', join(work, 'data')]);
}

function search(...args: string[]) {
  return cc(['plugin', 'search', ...args, '--registry', registryUrl, '--json']);
}

describe('cc plugin info', () => {
  it('lists versions newest first with API ranges, the one that installs here and signature status', async () => {
    const result = await info('echo', '--trust', keys.a.pub, '--json');
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const echo = JSON.parse(result.stdout) as PluginInfo;
    expect(echo).toMatchObject({ name: 'echo', repository: 'plugins/echo' });
    expect(echo.description).toContain('version 2 of echo');
    expect(echo.versions.map((v) => [v.version, v.apiVersion, v.compatible, v.installs])).toEqual([
      ['2.0.0', '^1.0', true, true],
      ['1.0.0', '^1.0', true, false],
    ]);
    expect(echo.versions[0]?.signature).toEqual({
      status: 'untrusted',
      publisher: null,
      keyIds: [keys.b.id],
    });
    expect(echo.versions[1]?.signature).toMatchObject({ status: 'trusted', keyIds: [keys.a.id] });
    expect(echo.versions[1]?.signature.publisher).toEqual(expect.any(String));
  });

  it('shows an incompatible newest version and picks the older one that fits this host', async () => {
    const result = await info('incompatible', '--json');
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const versions = (JSON.parse(result.stdout) as PluginInfo).versions;
    expect(
      versions.map((v) => [v.version, v.apiVersion, v.compatible, v.installs, v.signature.status]),
    ).toEqual([
      ['3.1.0', '^2.0', false, false, 'untrusted'],
      ['2.7.0', '^1.0', true, true, 'unsigned'],
    ]);

    const text = await info('incompatible');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/3\.1\.0 .*api \^2\.0 .*incompatible/);
    expect(text.stdout).toMatch(/2\.7\.0 .*api \^1\.0 .*installs here .*unsigned/);
  });

  it('says when the registry has no such plugin', async () => {
    const result = await info('nope', '--json');
    expect(result.code).toBe(1);
    expect((JSON.parse(result.stdout) as { error: { code: string } }).error.code).toBe(
      'CC_E_CLI_PLUGIN_NO_MATCHING_VERSION',
    );
  });
});

describe('cc plugin search', () => {
  it("lists the catalog's plugins with their latest version", async () => {
    const result = await search();
    expect(result.code, result.stderr + result.stdout).toBe(0);
    const hits = JSON.parse(result.stdout) as SearchHit[];
    expect(hits.map((h) => [h.name, h.latest, h.kind, h.apiVersion, h.compatible])).toEqual([
      ['echo', '2.0.0', 'credentials', '^1.0', true],
      ['faulty', '1.0.0', 'credentials', '^1.0', true],
      ['incompatible', '3.1.0', 'resource-type', '^2.0', false],
    ]);
  });

  it('filters by name or description, in any case', async () => {
    const names = async (term: string) =>
      (JSON.parse((await search(term)).stdout) as SearchHit[]).map((h) => h.name);
    expect(await names('ECHO')).toEqual(['echo']);
    expect(await names('misbehaves')).toEqual(['faulty']);
    expect(await names('no such thing')).toEqual([]);
    const text = await cc(['plugin', 'search', 'echo', '--registry', registryUrl]);
    expect(text.stdout).toContain('echo@2.0.0  credentials  api ^1.0');
  });
});
