import { ConveyorError } from '@conveyor/core/errors';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminToken, cc, deadUrl, plugins, startApi, tempHome } from './helpers.js';

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

describe('cc plugin list', () => {
  it('prints a table of the current target’s plugins', async () => {
    const env = { CONVEYOR_HOME: home };
    expect((await cc(['login', '--url', api.url, '--token', adminToken, '-t', 'test'], env)).code).toBe(0);

    const { code, stdout, stderr } = await cc(['plugin', 'list'], env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toEqual([
      'NAME   VERSION  KIND           API   SOURCE',
      'local  1.0.0    runtime        ^1.0  builtin',
      'mock   1.2.0    resource-type  ^1.0  linked',
    ]);
  });

  it('prints the plugins as JSON with --json', async () => {
    const env = { CONVEYOR_HOME: home, CONVEYOR_URL: api.url, CONVEYOR_TOKEN: adminToken };
    const { code, stdout } = await cc(['plugin', 'list', '--json'], env);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(plugins);
  });

  it('fails with CC_E_CLI_UNAUTHORIZED on a wrong token', async () => {
    const args = ['plugin', 'list', '--url', api.url, '--token', 'cc_wrong_token'];
    const plain = await cc(args, { CONVEYOR_HOME: home });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('Code: CC_E_CLI_UNAUTHORIZED');
    expect(plain.stderr).not.toContain('cc_wrong_token');

    const json = await cc([...args, '--json'], { CONVEYOR_HOME: home });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error).toMatchObject({
      code: 'CC_E_CLI_UNAUTHORIZED',
      exit: 1,
      details: { url: api.url, status: 401, serverCode: 'CC_E_API_UNAUTHORIZED' },
    });
  });

  it('fails with CC_E_CLI_UNAUTHORIZED when the target has no token', async () => {
    const { code, stdout } = await cc(['plugin', 'list', '--url', api.url, '--json'], {
      CONVEYOR_HOME: home,
    });
    expect(code).toBe(1);
    expect(JSON.parse(stdout).error.code).toBe('CC_E_CLI_UNAUTHORIZED');
  });

  it('fails with CC_E_CLI_UNREACHABLE naming the URL when nothing listens', async () => {
    const url = await deadUrl();
    const plain = await cc(['plugin', 'list', '--url', url, '--token', adminToken], { CONVEYOR_HOME: home });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain('Code: CC_E_CLI_UNREACHABLE');
    expect(plain.stderr).toContain(url);

    const json = await cc(['plugin', 'list', '--url', url, '--token', adminToken, '--json'], {
      CONVEYOR_HOME: home,
    });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).error).toMatchObject({
      code: 'CC_E_CLI_UNREACHABLE',
      message: expect.stringContaining(url),
      details: { url, reason: 'ECONNREFUSED' },
    });
  });

  it('fails with CC_E_CLI_NO_TARGET when no server is named or saved', async () => {
    const { code, stderr } = await cc(['plugin', 'list'], { CONVEYOR_HOME: home });
    expect(code).toBe(1);
    expect(stderr).toContain('no target: run `cc login` or `cc up`');
    expect(stderr).toContain('Code: CC_E_CLI_NO_TARGET');
  });

  it('fails with CC_E_CLI_UNKNOWN_TARGET (a usage error) on a target name not saved', async () => {
    const { code, stdout } = await cc(['plugin', 'list', '-t', 'nope', '--json'], { CONVEYOR_HOME: home });
    expect(code).toBe(2);
    expect(JSON.parse(stdout).error.code).toBe('CC_E_CLI_UNKNOWN_TARGET');
  });

  it('carries the server’s error code in CC_E_CLI_API_ERROR', async () => {
    const failing = await startApi({
      listPlugins: async () => {
        throw new ConveyorError('CC_E_INTERNAL', 'the plugin host is not ready');
      },
    });
    try {
      const { code, stdout } = await cc(
        ['plugin', 'list', '--url', failing.url, '--token', adminToken, '--json'],
        {
          CONVEYOR_HOME: home,
        },
      );
      expect(code).toBe(1);
      expect(JSON.parse(stdout).error).toMatchObject({
        code: 'CC_E_CLI_API_ERROR',
        message: expect.stringContaining('CC_E_INTERNAL: the plugin host is not ready'),
        details: { status: 500, serverCode: 'CC_E_INTERNAL' },
      });
    } finally {
      await failing.close();
    }
  });
});
