// The plugin's side of Concourse's resource protocol, against the testing kit's host services: the
// kit's `host.run` stands in for the host, recording each request and answering as a script
// would. Running real images in containerd through the real host is test/e2e/concourse-resource.
import { fileURLToPath } from 'node:url';
import type { HostMethods, VolumeRef } from '@conveyor/plugin-api';
import { loadPluginForTest, type PluginUnderTest } from '@conveyor/plugin-api/testing';
import { beforeAll, describe, expect, it } from 'vitest';

type RunRequest = HostMethods['run']['request'];
type RunResponse = HostMethods['run']['response'];

const packageDir = fileURLToPath(new URL('..', import.meta.url));
let plugin: PluginUnderTest<'resource-type'>;

beforeAll(async () => {
  plugin = await loadPluginForTest<'resource-type'>(packageDir);
});

/** host.run answering `answer` to every request, which it keeps. */
function scriptHost(answer: Partial<RunResponse>) {
  const requests: RunRequest[] = [];
  return {
    requests,
    host: {
      run: async (request: RunRequest) => {
        requests.push(request);
        return { exitStatus: 0, stdout: '', stderrTail: '', ...answer };
      },
    },
  };
}

const volume: VolumeRef = {
  handle: 'v-1',
  driver: 'naive',
  location: { type: 'host-path', path: '/srv/v-1' },
};
const build = {
  id: 42,
  name: '7',
  team: 'main',
  pipeline: 'app',
  job: 'unit',
  url: 'https://ci.example.com/builds/42',
};

describe('check', () => {
  it('runs /opt/resource/check with source and a null version first, and returns its versions', async () => {
    const { host, requests } = scriptHost({ stdout: '[{"ref":"a"},{"ref":"b","n":3}]\n' });
    const { value } = await plugin.call('check', { source: { uri: 'x' } }, { host });
    expect(requests).toEqual([
      { path: '/opt/resource/check', args: [], stdin: '{"source":{"uri":"x"},"version":null}' },
    ]);
    // Concourse takes scalars as their text; versions are flat maps of strings.
    expect(value).toEqual({ versions: [{ ref: 'a' }, { ref: 'b', n: '3' }] });
  });

  it('passes the newest known version', async () => {
    const { host, requests } = scriptHost({ stdout: '[]' });
    await plugin.call('check', { source: {}, version: { ref: 'a' } }, { host });
    expect(JSON.parse(requests[0]?.stdin ?? '')).toEqual({ source: {}, version: { ref: 'a' } });
  });

  it('refuses an answer that is not an array of versions, quoting it', async () => {
    const { host } = scriptHost({ stdout: '{"ref":"a"}' });
    await expect(plugin.call('check', { source: {} }, { host })).rejects.toMatchObject({
      code: 'CONCOURSE_BAD_OUTPUT',
      message: expect.stringMatching(
        /check of the resource type's image answered "\{\\"ref\\":\\"a\\"\}"; expected an array/,
      ),
    });
  });
});

describe('get', () => {
  it('runs /opt/resource/in with the destination as $1, mounted there, and the BUILD_* environment', async () => {
    const { host, requests } = scriptHost({
      stdout: '{"version":{"ref":"a"},"metadata":[{"name":"author","value":"me"},{"name":"size","value":3}]}',
    });
    const { value } = await plugin.call(
      'get',
      { source: { uri: 'x' }, version: { ref: 'a' }, params: { depth: 1 }, directory: volume, build },
      { host },
    );
    expect(requests).toEqual([
      {
        path: '/opt/resource/in',
        args: ['/tmp/build/get'],
        stdin: '{"source":{"uri":"x"},"version":{"ref":"a"},"params":{"depth":1}}',
        env: {
          BUILD_ID: '42',
          BUILD_NAME: '7',
          BUILD_TEAM_NAME: 'main',
          BUILD_PIPELINE_NAME: 'app',
          BUILD_JOB_NAME: 'unit',
          BUILD_URL: 'https://ci.example.com/builds/42',
          ATC_EXTERNAL_URL: 'https://ci.example.com',
        },
        dir: '/tmp/build/get',
        mounts: [{ volume, destination: '/tmp/build/get' }],
      },
    ]);
    expect(value).toEqual({
      version: { ref: 'a' },
      metadata: [
        { name: 'author', value: 'me' },
        { name: 'size', value: '3' },
      ],
    });
  });

  it('fails with the end of the script’s stderr when it exits non-zero', async () => {
    const stderrTail = Array.from({ length: 15 }, (_, i) => `line ${i + 1}`).join('\n');
    const { host } = scriptHost({ exitStatus: 1, stderrTail });
    const failure = plugin.call('get', { source: {}, version: { ref: 'a' }, directory: volume }, { host });
    await expect(failure).rejects.toMatchObject({ code: 'CONCOURSE_SCRIPT_FAILED' });
    // The last ten lines: what a reader needs, the rest is in the step's log already.
    await expect(failure).rejects.toThrow(/exited with status 1:\nline 6\n[\s\S]*line 15$/);
    await expect(failure).rejects.not.toThrow(/line 5\n/);
  });

  it('says what it printed when it printed no JSON', async () => {
    const { host } = scriptHost({ stdout: 'fetching...\ndone\n' });
    await expect(
      plugin.call('get', { source: {}, version: { ref: 'a' }, directory: volume }, { host }),
    ).rejects.toMatchObject({
      code: 'CONCOURSE_BAD_OUTPUT',
      message: expect.stringContaining('did not print JSON on stdout'),
    });
  });
});

describe('put', () => {
  it('runs /opt/resource/out with the sources directory as $1 and returns its version', async () => {
    const { host, requests } = scriptHost({ stdout: '{"version":{"ref":"b"}}' });
    const { value } = await plugin.call(
      'put',
      { source: { uri: 'x' }, params: { file: 'out/f' }, directory: volume, build },
      { host },
    );
    expect(requests[0]).toMatchObject({
      path: '/opt/resource/out',
      args: ['/tmp/build/put'],
      stdin: '{"source":{"uri":"x"},"params":{"file":"out/f"}}',
      mounts: [{ volume, destination: '/tmp/build/put' }],
    });
    expect(value).toEqual({ version: { ref: 'b' } });
  });
});

it('fails clearly where the host offers no containers', async () => {
  await expect(plugin.call('check', { source: {} })).rejects.toMatchObject({
    code: 'HOST_SERVICE_UNAVAILABLE',
  });
});
