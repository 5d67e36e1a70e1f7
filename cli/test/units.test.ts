import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Errors } from '@oclif/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError, cliErrors, exitCodes, toCliError } from '../src/errors/index.js';
import { renderTable } from '../src/output/index.js';
import { resolveTarget, targetsPath } from '../src/targets/index.js';

describe('the CLI error registry', () => {
  it('gives every code the CC_E_CLI_ prefix, a known exit code and docs', () => {
    for (const [code, definition] of Object.entries(cliErrors)) {
      expect(code).toMatch(/^CC_E_CLI_[A-Z_]+$/);
      expect(Object.values(exitCodes)).toContain(definition.exit);
      expect(definition.docs.length).toBeGreaterThan(20);
    }
  });

  it('turns oclif usage errors into CC_E_CLI_USAGE and anything else into CC_E_CLI_INTERNAL', () => {
    expect(toCliError(new Errors.CLIError('Missing required flag url')).code).toBe('CC_E_CLI_USAGE');
    const internal = toCliError(new RangeError('boom'));
    expect(internal.code).toBe('CC_E_CLI_INTERNAL');
    expect(internal.exit).toBe(1);
    expect(internal.cause).toBeInstanceOf(RangeError);
    const own = new CliError('CC_E_CLI_NO_TARGET', 'no target');
    expect(toCliError(own)).toBe(own);
  });
});

describe('resolveTarget', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cc-targets-'));
    file = join(dir, 'targets.yaml');
    await writeFile(
      file,
      'current: b\ntargets:\n  a: { url: "http://a.example:8080/", token: ta }\n  b: { url: "https://b.example", token: tb }\n',
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses the current target when nothing is named', async () => {
    expect(await resolveTarget({}, file)).toEqual({ name: 'b', url: 'https://b.example', token: 'tb' });
  });

  it('prefers --target, and lets --url and --token override its parts', async () => {
    expect(await resolveTarget({ target: 'a' }, file)).toEqual({
      name: 'a',
      url: 'http://a.example:8080',
      token: 'ta',
    });
    expect(await resolveTarget({ target: 'a', token: 'other' }, file)).toMatchObject({ token: 'other' });
    expect(await resolveTarget({ target: 'a', url: 'http://c.example' }, file)).toMatchObject({
      url: 'http://c.example',
      token: 'ta',
    });
  });

  it('talks to --url alone without any saved token', async () => {
    expect(await resolveTarget({ url: 'http://c.example' }, file)).toEqual({
      name: null,
      url: 'http://c.example',
      token: null,
    });
  });

  it('refuses an unknown target name and a URL that is not http', async () => {
    await expect(resolveTarget({ target: 'zz' }, file)).rejects.toMatchObject({
      code: 'CC_E_CLI_UNKNOWN_TARGET',
    });
    await expect(resolveTarget({ url: 'ftp://c.example' }, file)).rejects.toMatchObject({
      code: 'CC_E_CLI_USAGE',
    });
  });

  it('reports no target when the file is missing', async () => {
    await expect(resolveTarget({}, join(dir, 'missing.yaml'))).rejects.toMatchObject({
      code: 'CC_E_CLI_NO_TARGET',
    });
  });

  it('finds the file under CONVEYOR_HOME, else under ~/.conveyor', () => {
    expect(targetsPath({ CONVEYOR_HOME: '/srv/cc' })).toBe('/srv/cc/targets.yaml');
    expect(targetsPath({})).toMatch(/\/\.conveyor\/targets\.yaml$/);
  });
});

describe('renderTable', () => {
  it('aligns columns without trailing spaces', () => {
    const rows = [
      { a: 'x', b: 'long value' },
      { a: 'longer', b: '' },
    ];
    const table = renderTable(rows, [
      { header: 'A', get: (r) => r.a },
      { header: 'B', get: (r) => r.b },
    ]);
    expect(table.split('\n')).toEqual(['A       B', 'x       long value', 'longer']);
  });
});
