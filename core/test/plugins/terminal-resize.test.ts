import { fileURLToPath } from 'node:url';
import { type CallInput, PluginHost } from '@conveyor/core/plugins';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const fixtures = fileURLToPath(new URL('../../../test/fixtures/plugins/', import.meta.url));

describe('a call input with terminal sizes', () => {
  let host: PluginHost;
  beforeAll(async () => {
    host = await PluginHost.create({ builtinDirs: [`${fixtures}terminal`], callTimeoutMs: 10_000 });
  });
  afterAll(async () => {
    await host?.close();
  });

  it('reaches the plugin as resize messages, in order, beside the stdin bytes', async () => {
    const input: CallInput[] = [
      { type: 'resize', columns: 100, rows: 30 },
      Buffer.from('ls\n'),
      { type: 'resize', columns: 120, rows: 40 },
    ];
    const lines: string[] = [];
    const reply = await host.client('runtime', 'terminal').call(
      'run',
      {
        handle: 'c1',
        processId: 'p1',
        process: { path: 'sh', tty: true, ttySize: { columns: 80, rows: 24 } },
        stdin: true,
      },
      { input, onOutput: (_stream, data) => lines.push(data.trimEnd()) },
    );
    expect(reply).toEqual({ exitStatus: 0 });
    expect(lines.filter((line) => !line.startsWith('stdin'))).toEqual([
      'start 80x24',
      'resize 100x30',
      'resize 120x40',
    ]);
    expect(lines).toContain('stdin ls');
  });

  it('is refused when a size is out of the contract’s range, before it reaches the plugin', async () => {
    await expect(
      host.client('runtime', 'terminal').call('run', {
        handle: 'c1',
        processId: 'p2',
        process: { path: 'sh', tty: true, ttySize: { columns: 0, rows: 24 } },
      }),
    ).rejects.toMatchObject({ code: 'CC_E_PLUGIN_BAD_REQUEST' });
  });
});
