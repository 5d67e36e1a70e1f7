import { fileURLToPath } from 'node:url';
import { ConformanceError, loadPluginForTest, PluginCallError } from '@conveyor/plugin-api/testing';
import { describe, expect, it } from 'vitest';

const fixtures = fileURLToPath(new URL('../../test/fixtures/plugins/', import.meta.url));

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('@conveyor/plugin-api/testing', () => {
  it('answers a conforming call with its value and the plugin log', async () => {
    const echo = await loadPluginForTest<'credentials'>(`${fixtures}echo-v1`, { suffix: '?' });
    const result = await echo.call('lookup', { team: 'main', path: 'k' });
    expect(result.value).toEqual({ found: true, value: 'k?' });
    expect(result.output).toEqual([{ stream: 'log', data: 'looked up k' }]);
  });

  it('refuses a reply the host would refuse, naming plugin@version, method and field', async () => {
    const faulty = await loadPluginForTest<'credentials'>(`${fixtures}faulty`);
    const error = await rejection(faulty.call('lookup', { team: 'main', path: 'bad-reply' }));
    expect(error).toBeInstanceOf(ConformanceError);
    expect((error as ConformanceError).code).toBe('CONFORMANCE_BAD_RESPONSE');
    expect((error as Error).message).toContain('faulty@1.0.0');
    expect((error as Error).message).toContain('lookup');
    expect((error as ConformanceError).problems.map((p) => p.path)).toContain('found');
  });

  it("keeps a PluginError's own code", async () => {
    const faulty = await loadPluginForTest<'credentials'>(`${fixtures}faulty`);
    const error = await rejection(faulty.call('lookup', { team: 'main', path: 'plugin-error' }));
    expect(error).toBeInstanceOf(PluginCallError);
    expect((error as PluginCallError).code).toBe('REPO_NOT_FOUND');
  });

  it('refuses a bad request as the test’s mistake, and a bad configuration', async () => {
    const echo = await loadPluginForTest<'credentials'>(`${fixtures}echo-v1`);
    const error = await rejection(echo.call('lookup', { team: 'main' } as never));
    expect((error as ConformanceError).code).toBe('CONFORMANCE_BAD_REQUEST');
    const config = await rejection(loadPluginForTest(`${fixtures}echo-v1`, { suffix: 1 }));
    expect((config as ConformanceError).code).toBe('CONFORMANCE_BAD_CONFIG');
  });

  it('refuses a manifest whose apiVersion excludes this plugin API', async () => {
    const error = await rejection(loadPluginForTest(`${fixtures}incompatible`));
    expect((error as ConformanceError).code).toBe('CONFORMANCE_BAD_MANIFEST');
    expect((error as Error).message).toContain('^2.0');
  });
});
