import { fileURLToPath } from 'node:url';
import { loadPluginForTest } from '@conveyor/plugin-api/testing';
import { describe, expect, it } from 'vitest';

const fixtures = fileURLToPath(new URL('../../test/fixtures/plugins/', import.meta.url));

describe('CallContext.onResize', () => {
  it('gives a listener each new terminal size, and one sent before it listened', async () => {
    const terminal = await loadPluginForTest<'runtime'>(`${fixtures}terminal`);
    // The first resize is posted before the plugin adds its listener (it first writes `start`):
    // it must still arrive.
    const result = await terminal.call(
      'run',
      { handle: 'c1', processId: 'p1', process: { path: 'sh', tty: true }, stdin: true },
      {
        input: [
          { type: 'resize', columns: 90, rows: 20 },
          Buffer.from('x'),
          { type: 'resize', columns: 91, rows: 21 },
        ],
      },
    );
    expect(result.value).toEqual({ exitStatus: 0 });
    const lines = result.output.map((chunk) => chunk.data.trimEnd());
    expect(lines.filter((line) => line.startsWith('resize'))).toEqual(['resize 90x20', 'resize 91x21']);
    expect(lines).toContain('stdin x');
  });
});
