import { fileURLToPath } from 'node:url';
import { isConveyorError } from '@conveyor/core';
import { PluginHost } from '@conveyor/core/plugins';
import { PLUGIN_API_VERSION } from '@conveyor/plugin-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/plugins/', import.meta.url));
const dirs = ['echo-v1', 'echo-v2', 'faulty', 'incompatible', 'bad-manifest', 'bad-entry', 'streamer'].map(
  (d) => fixtures + d,
);

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isConveyorError(error)) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('plugin host', () => {
  let host: PluginHost;
  beforeAll(async () => {
    host = await PluginHost.create({ builtinDirs: dirs, callTimeoutMs: 10_000 });
  });
  afterAll(async () => {
    await host?.close();
  });

  it('lists valid plugins, two versions of one side by side', () => {
    const listed = host.list().map((p) => `${p.name}@${p.version}:${p.kind}`);
    expect(listed.sort()).toEqual([
      'bad-entry@1.0.0:credentials',
      'echo@1.0.0:credentials',
      'echo@2.0.0:credentials',
      'faulty@1.0.0:credentials',
      'streamer@1.0.0:volume',
    ]);
  });

  it('refuses a plugin whose apiVersion range excludes the host, naming both versions', () => {
    const refused = host.refused().find((e) => e.code === 'CC_E_PLUGIN_API_INCOMPATIBLE');
    expect(refused?.message).toContain(
      `incompatible@3.1.0 needs plugin API ^2.0, this host has ${PLUGIN_API_VERSION}`,
    );
  });

  it('refuses an invalid manifest, naming the file and each field', () => {
    const refused = host.refused().find((e) => e.code === 'CC_E_PLUGIN_MANIFEST_INVALID');
    expect(refused?.message).toContain('bad-manifest/conveyor-plugin.json');
    expect(refused?.message).toMatch(/name must match pattern/);
    expect(refused?.message).toMatch(/kind must be one of/);
    expect(refused?.message).toMatch(/main is required/);
  });

  it('resolves the highest version, or the one a range asks for', async () => {
    expect(await host.client('credentials', 'echo').call('lookup', { team: 'main', path: 'a' })).toEqual({
      found: true,
      value: 'v2:a',
    });
    expect(await host.client('credentials', 'echo@^1').call('lookup', { team: 'main', path: 'a' })).toEqual({
      found: true,
      value: 'a',
    });
    expect(() => host.client('credentials', 'echo@^3')).toThrow(/no installed version of echo satisfies \^3/);
    expect(() => host.client('runtime', 'echo')).toThrow(/no runtime plugin named "echo"/);
  });

  it('validates the configuration against the plugin configSchema', () => {
    try {
      host.client('credentials', 'echo@1', { suffix: 5, extra: true });
      expect.unreachable();
    } catch (error) {
      expect(isConveyorError(error, 'CC_E_PLUGIN_CONFIG_INVALID')).toBe(true);
      expect((error as Error).message).toContain('echo@1.0.0');
      expect((error as Error).message).toContain('suffix must be string');
      expect((error as Error).message).toContain('extra is not a known field');
    }
  });

  it('streams log lines through the call port', async () => {
    const lines: string[] = [];
    const reply = await host
      .client('credentials', 'echo@1', { suffix: '!' })
      .call(
        'lookup',
        { team: 'main', path: 'x' },
        { onOutput: (stream, data) => lines.push(`${stream}:${data}`) },
      );
    expect(reply).toEqual({ found: true, value: 'x!' });
    expect(lines).toEqual(['log:looked up x']);
  });

  it('streams bytes both ways', async () => {
    const streamer = host.client('volume', 'streamer');
    const input = [Buffer.from('0123'), Buffer.from('4567'), Buffer.from('89ab')];
    expect(await streamer.call('streamIn', { handle: 'v' }, { input })).toEqual({ bytes: 12 });
    const chunks: Buffer[] = [];
    const lines: string[] = [];
    await streamer.call(
      'streamOut',
      { handle: 'v' },
      { onData: (c) => chunks.push(Buffer.from(c)), onOutput: (_s, d) => lines.push(d) },
    );
    expect(Buffer.concat(chunks).toString()).toBe('0123456789ab');
    expect(lines).toEqual(['line 0', 'line 1', 'line 2']);
  });

  it('rejects a request that does not fit the method schema before it leaves', async () => {
    const error = await failure(
      host.client('credentials', 'echo').call('lookup', { team: '', path: 'x' } as never),
    );
    expect(error.code).toBe('CC_E_PLUGIN_BAD_REQUEST');
    expect(error.message).toContain('team must NOT have fewer than 1 characters');
  });

  it('fails a module that does not export definePlugin with a load error', async () => {
    const error = await failure(
      host.client('credentials', 'bad-entry').call('lookup', { team: 'main', path: 'x' }),
    );
    expect(error.code).toBe('CC_E_PLUGIN_LOAD_FAILED');
    expect(error.message).toContain('must default-export the value of definePlugin');
  });

  describe('crash containment: each fault fails only its own call', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['throw', 'CC_E_PLUGIN_CALL_FAILED', /faulty@1\.0\.0 lookup failed: boom from the plugin/],
      [
        'plugin-error',
        'CC_E_PLUGIN_CALL_FAILED',
        /lookup failed \[REPO_NOT_FOUND\]: repository does not exist/,
      ],
      ['exit', 'CC_E_PLUGIN_EXITED', /faulty@1\.0\.0 lookup failed: the plugin called process\.exit\(3\)/],
      ['exit-later', 'CC_E_PLUGIN_EXITED', /process\.exit\(4\)/],
      [
        'uncaught-later',
        'CC_E_PLUGIN_CRASHED',
        /faulty@1\.0\.0 lookup failed: its worker thread died \(uncaught in a timer\)/,
      ],
      ['oom', 'CC_E_PLUGIN_OUT_OF_MEMORY', /faulty@1\.0\.0 lookup ran out of memory/],
      ['hang', 'CC_E_PLUGIN_TIMEOUT', /faulty@1\.0\.0 lookup did not answer within 2000 ms/],
      ['busy-hang', 'CC_E_PLUGIN_TIMEOUT', /did not answer within 2000 ms/],
      [
        'bad-reply',
        'CC_E_PLUGIN_BAD_REPLY',
        /faulty@1\.0\.0 lookup answered with an invalid reply: .*found must be/,
      ],
      ['not-an-object', 'CC_E_PLUGIN_BAD_REPLY', /invalid reply/],
    ];
    for (const [fault, code, message] of cases) {
      it(`${fault} → ${code}, while other plugins' calls and the next call go on`, async () => {
        const faulty = host.client('credentials', 'faulty');
        const echo = host.client('credentials', 'echo');
        // A call on another plugin in flight at the same time must not notice.
        const [error, other] = await Promise.all([
          failure(faulty.call('lookup', { team: 'main', path: fault })),
          echo.call('lookup', { team: 'main', path: 'meanwhile' }),
        ]);
        expect(error.code).toBe(code);
        expect(error.message).toMatch(message);
        expect(error.details).toMatchObject({ plugin: 'faulty@1.0.0', method: 'lookup' });
        expect(other).toEqual({ found: true, value: 'v2:meanwhile' });
        // The pool replaced whatever worker died: the same plugin answers the next call.
        expect(await faulty.call('lookup', { team: 'main', path: 'after' })).toEqual({
          found: true,
          value: 'ok:after',
        });
      });
    }
  });

  it('cancels a call through an AbortSignal', async () => {
    const controller = new AbortController();
    const call = host.client('credentials', 'faulty').call(
      'lookup',
      { team: 'main', path: 'hang' },
      {
        signal: controller.signal,
      },
    );
    setTimeout(() => controller.abort(), 50);
    const error = await failure(call);
    expect(error.code).toBe('CC_E_PLUGIN_ABORTED');
    expect(await host.client('credentials', 'faulty').call('lookup', { team: 'main', path: 'x' })).toEqual({
      found: true,
      value: 'ok:x',
    });
  });

  it('takes no calls after close', async () => {
    const other = await PluginHost.create({ builtinDirs: [`${fixtures}echo-v1`] });
    const echo = other.client('credentials', 'echo');
    await other.close();
    const error = await failure(echo.call('lookup', { team: 'main', path: 'x' }));
    expect(error.code).toBe('CC_E_PLUGIN_HOST_CLOSED');
  });
});

describe('plugins that run several calls per worker', () => {
  let host: PluginHost;
  beforeAll(async () => {
    host = await PluginHost.create({ builtinDirs: [`${fixtures}concurrent`] });
  });
  afterAll(async () => {
    await host?.close();
  });

  it('run their calls concurrently in one worker thread', async () => {
    const plugin = host.client('credentials', 'concurrent');
    // Four calls that can only return once all four are in flight, on a pool of one thread.
    const replies = await Promise.all(
      [1, 2, 3, 4].map(() => plugin.call('lookup', { team: 'main', path: 'barrier-4' })),
    );
    expect(replies).toEqual(Array(4).fill({ found: true, value: 'released together: 4' }));
  });

  it('cancel a timed-out call cooperatively, without failing the calls beside it', async () => {
    const plugin = host.client('credentials', 'concurrent');
    const [timedOut, cancelledByCaller, sibling] = await Promise.all([
      failure(plugin.call('lookup', { team: 'main', path: 'until-cancelled' }, { timeoutMs: 200 })),
      failure(
        plugin.call(
          'lookup',
          { team: 'main', path: 'until-cancelled' },
          { signal: AbortSignal.timeout(100) },
        ),
      ),
      plugin.call('lookup', { team: 'main', path: 'beside' }),
    ]);
    expect(timedOut.code).toBe('CC_E_PLUGIN_TIMEOUT');
    expect(timedOut.message).toContain('the plugin was told to stop');
    expect(cancelledByCaller.code).toBe('CC_E_PLUGIN_ABORTED');
    expect(sibling).toEqual({ found: true, value: 'ok:beside' });
    // The plugin saw both cancellations, in the same worker that goes on answering.
    await expect
      .poll(() => plugin.call('lookup', { team: 'main', path: 'cancelled' }))
      .toEqual({
        found: true,
        value: '2',
      });
  });
});
