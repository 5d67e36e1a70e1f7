import { fileURLToPath } from 'node:url';
import { loadPluginForTest } from '@conveyor/plugin-api/testing';
import { afterEach, describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const prefix = 'CCTEST_ENV_';
const set = new Set<string>();

function setEnv(name: string, value: string): void {
  process.env[name] = value;
  set.add(name);
}

afterEach(() => {
  for (const name of set) delete process.env[name];
  set.clear();
});

const load = () => loadPluginForTest<'credentials'>(packageDir, { prefix });

describe('env credentials', () => {
  it('prefers the pipeline scope, then the team scope, then the global name', async () => {
    const plugin = await load();
    const request = { team: 'main', pipeline: 'app', path: 'token' };
    setEnv(`${prefix}TOKEN`, 'global');
    expect((await plugin.call('lookup', request)).value).toEqual({ found: true, value: 'global' });
    setEnv(`${prefix}MAIN_TOKEN`, 'team');
    expect((await plugin.call('lookup', request)).value).toEqual({ found: true, value: 'team' });
    setEnv(`${prefix}MAIN_APP_TOKEN`, 'pipeline');
    expect((await plugin.call('lookup', request)).value).toEqual({ found: true, value: 'pipeline' });
    // Another pipeline of the team does not see this pipeline's value.
    const other = await plugin.call('lookup', { team: 'main', pipeline: 'other', path: 'token' });
    expect(other.value).toEqual({ found: true, value: 'team' });
  });

  it('skips the pipeline scope when the lookup has no pipeline', async () => {
    const plugin = await load();
    setEnv(`${prefix}MAIN_APP_TOKEN`, 'pipeline');
    setEnv(`${prefix}MAIN_TOKEN`, 'team');
    const { value } = await plugin.call('lookup', { team: 'main', path: 'token' });
    expect(value).toEqual({ found: true, value: 'team' });
  });

  it('upper-cases every part and turns other characters into underscores', async () => {
    const plugin = await load();
    setEnv(`${prefix}MY_TEAM_WEB_APP_DB_PASSWORD_1`, 'secret');
    const { value } = await plugin.call('lookup', {
      team: 'my-team',
      pipeline: 'web.app',
      path: 'db/password-1',
    });
    expect(value).toEqual({ found: true, value: 'secret' });
  });

  it('returns a JSON object as an object and anything else as a string', async () => {
    const plugin = await load();
    setEnv(`${prefix}CREDS`, '{"user":"admin","port":5432}');
    setEnv(`${prefix}LIST`, '["a","b"]');
    setEnv(`${prefix}BROKEN`, '{not json');
    const lookup = async (path: string) => (await plugin.call('lookup', { team: 'main', path })).value;
    expect(await lookup('creds')).toEqual({ found: true, value: { user: 'admin', port: 5432 } });
    expect(await lookup('list')).toEqual({ found: true, value: '["a","b"]' });
    expect(await lookup('broken')).toEqual({ found: true, value: '{not json' });
  });

  it('reports a missing variable as not found', async () => {
    const plugin = await load();
    const { value } = await plugin.call('lookup', { team: 'main', pipeline: 'app', path: 'nothing-here' });
    expect(value).toEqual({ found: false });
  });

  it('uses CONVEYOR_VAR_ when no prefix is configured', async () => {
    const plugin = await loadPluginForTest<'credentials'>(packageDir);
    setEnv('CONVEYOR_VAR_MAIN_CCTEST_DEFAULT_PREFIX', 'yes');
    const { value } = await plugin.call('lookup', { team: 'main', path: 'cctest-default-prefix' });
    expect(value).toEqual({ found: true, value: 'yes' });
  });

  it('describes the prefix and never a value, and logs nothing', async () => {
    const plugin = await load();
    setEnv(`${prefix}MAIN_TOKEN`, 'hunter2');
    const info = await plugin.call('info', {});
    expect(info.value.description).toContain(`${prefix}<TEAM>_<PIPELINE>_<PATH>`);
    expect(info.value.description).not.toContain('hunter2');
    const lookup = await plugin.call('lookup', { team: 'main', path: 'token' });
    expect(lookup.output).toEqual([]);
  });

  it('refuses a prefix that cannot start a variable name', async () => {
    await expect(loadPluginForTest<'credentials'>(packageDir, { prefix: '1-bad' })).rejects.toMatchObject({
      code: 'CONFORMANCE_BAD_CONFIG',
    });
  });
});
