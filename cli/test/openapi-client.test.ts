import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

describe('the CLI’s API client types', () => {
  it('are what openapi-typescript generates from the live API document (no drift)', async () => {
    // --check regenerates in memory and exits 1 naming any checked-in file that differs.
    const run = promisify(execFile)(process.execPath, ['scripts/gen-openapi.mjs', '--check'], {
      cwd: repoRoot,
    });
    await expect(run).resolves.toMatchObject({ stderr: '' });
  });
});
