import { fileURLToPath } from 'node:url';
import { type HostServiceHandlers, PluginHost } from '@conveyor/core/plugins';
import type { HostMethods } from '@conveyor/plugin-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/plugins/', import.meta.url));

type RunRequest = HostMethods['run']['request'];

/** A host.run that answers with the request it got, so a test sees what reached the host. */
function echoingRun(seen: RunRequest[]): HostServiceHandlers {
  return {
    run: async (request) => {
      seen.push(request);
      return {
        exitStatus: request.path === '/fail' ? 3 : 0,
        stdout: JSON.stringify(request),
        stderrTail: 'tail',
      };
    },
  };
}

describe('host services to a plugin during a call (context.host)', () => {
  let host: PluginHost;
  beforeAll(async () => {
    host = await PluginHost.create({ builtinDirs: [`${fixtures}host-caller`], callTimeoutMs: 10_000 });
  });
  afterAll(async () => {
    await host?.close();
  });

  const check = (requests: unknown[], options: { host?: HostServiceHandlers; signal?: AbortSignal } = {}) =>
    host.client('resource-type', 'host-caller').call('check', { source: { requests } }, options);

  it('serves each request the plugin makes, concurrent ones apart, and gives it the answers', async () => {
    const seen: RunRequest[] = [];
    const reply = await check(
      [
        { path: '/opt/resource/check', stdin: '{"source":{}}', env: { A: '1' } },
        { path: '/fail', args: ['x'] },
      ],
      { host: echoingRun(seen) },
    );
    expect(seen).toEqual([
      { path: '/opt/resource/check', stdin: '{"source":{}}', env: { A: '1' } },
      { path: '/fail', args: ['x'] },
    ]);
    expect(reply.versions).toEqual([
      { stdout: JSON.stringify(seen[0]), exit: '0', stderr: 'tail' },
      { stdout: JSON.stringify(seen[1]), exit: '3', stderr: 'tail' },
    ]);
  });

  it('tells the plugin when the call was offered no such service', async () => {
    await expect(check([{ path: '/opt/resource/check' }])).rejects.toMatchObject({
      code: 'CC_E_PLUGIN_CALL_FAILED',
      details: { pluginCode: 'CC_E_PLUGIN_HOST_SERVICE_UNAVAILABLE' },
    });
  });

  it('refuses a request that does not match the contract before the service sees it', async () => {
    const seen: RunRequest[] = [];
    const failure = check([{ path: '/x', mounts: [{ volume: { handle: 'v' }, destination: 'relative' }] }], {
      host: echoingRun(seen),
    });
    await expect(failure).rejects.toMatchObject({
      details: { pluginCode: 'CC_E_PLUGIN_HOST_SERVICE_BAD_REQUEST' },
    });
    await expect(failure).rejects.toThrow(/mounts\[0\]/);
    expect(seen).toEqual([]);
  });

  it('refuses an answer of the service that does not match the contract', async () => {
    const bad: HostServiceHandlers = {
      run: async () => ({ exitStatus: 0 }) as unknown as HostMethods['run']['response'],
    };
    await expect(check([{ path: '/x' }], { host: bad })).rejects.toThrow(/invalid reply.*stdout/);
  });

  it("passes on the service's own error code and message", async () => {
    const failing: HostServiceHandlers = {
      run: async () => {
        throw Object.assign(new Error('the image cannot be pulled'), { code: 'CC_E_EXEC_IMAGE_PULL' });
      },
    };
    const failure = check([{ path: '/x' }], { host: failing });
    await expect(failure).rejects.toMatchObject({ details: { pluginCode: 'CC_E_EXEC_IMAGE_PULL' } });
    await expect(failure).rejects.toThrow(/the image cannot be pulled/);
  });

  it("aborts the service's signal when the caller gives up on the call", async () => {
    let serviceSignal: AbortSignal | undefined;
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      markStarted = resolve;
    });
    const slow: HostServiceHandlers = {
      run: (_request, signal) => {
        serviceSignal = signal;
        markStarted();
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new Error('stopped'))),
        );
      },
    };
    const controller = new AbortController();
    const failure = check([{ path: '/x' }], { host: slow, signal: controller.signal });
    await started;
    expect(serviceSignal?.aborted).toBe(false);
    controller.abort();
    await expect(failure).rejects.toMatchObject({ code: 'CC_E_PLUGIN_ABORTED' });
    expect(serviceSignal?.aborted).toBe(true);
  });
});
