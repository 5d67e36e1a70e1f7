import { fileURLToPath } from 'node:url';
import { isConveyorError } from '@conveyor/core';
import { createInterpolator, type InterpolatorOptions, REDACTED } from '@conveyor/core/creds';
import { type PluginClient, PluginHost } from '@conveyor/core/plugins';
import type { credentials } from '@conveyor/plugin-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pluginsDir = fileURLToPath(new URL('../../../plugins/', import.meta.url));
const fixtures = fileURLToPath(new URL('../../../test/fixtures/plugins/', import.meta.url));
const prefix = 'CCTEST_CREDS_';

// The env plugin's worker copies the environment when it starts: set everything up front.
const env: Record<string, string> = {
  [`${prefix}MAIN_APP_DB_PASSWORD`]: 's3cr3t-pipeline',
  [`${prefix}MAIN_DB_PASSWORD`]: 's3cr3t-team',
  [`${prefix}MAIN_CREDS`]:
    '{"user":"admin","port":5432,"tls":{"ca":"-----BEGIN CA-----\\nMIIBca-line\\n-----END CA-----"}}',
  [`${prefix}MAIN_GREETING`]: 'hello',
  [`${prefix}MAIN_SHORT`]: 'ab',
  [`${prefix}MAIN_TOKEN`]: 'token-from-env',
};

let host: PluginHost;
let envClient: PluginClient<'credentials'>;
let echoClient: PluginClient<'credentials'>;
let faultyClient: PluginClient<'credentials'>;

beforeAll(async () => {
  Object.assign(process.env, env);
  host = await PluginHost.create({
    builtinDirs: [`${pluginsDir}credentials-env`, `${fixtures}echo-v1`, `${fixtures}faulty`],
    callTimeoutMs: 10_000,
  });
  envClient = host.client('credentials', 'env', { prefix });
  echoClient = host.client('credentials', 'echo', { suffix: '-from-echo' });
  faultyClient = host.client('credentials', 'faulty');
});

afterAll(async () => {
  await host?.close();
  for (const name of Object.keys(env)) delete process.env[name];
});

const interpolator = (options: Partial<InterpolatorOptions> = {}) =>
  createInterpolator({ managers: [{ client: envClient }], team: 'main', pipeline: 'app', ...options });

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isConveyorError(error)) return error;
    throw error;
  }
  throw new Error('expected interpolation to fail');
}

describe('interpolation through the env credential manager', () => {
  it('keeps the type of a value that is exactly one reference', async () => {
    const creds = interpolator();
    expect(
      await creds.interpolate({ password: '((db_password))', creds: '((creds))', port: '((creds.port))' }),
    ).toEqual({
      password: 's3cr3t-pipeline',
      creds: { user: 'admin', port: 5432, tls: { ca: '-----BEGIN CA-----\nMIIBca-line\n-----END CA-----' } },
      port: 5432,
    });
  });

  it('stringifies references inside longer strings', async () => {
    const creds = interpolator();
    expect(await creds.interpolate('postgres://((creds.user)):((db_password))@db:((creds.port))/app')).toBe(
      'postgres://admin:s3cr3t-pipeline@db:5432/app',
    );
  });

  it('interpolates keys and values at any depth without touching the input', async () => {
    const creds = interpolator();
    const input = {
      params: {
        '((greeting))_key': ['((greeting)) world', { deep: '((creds.tls.ca))' }],
        n: 3,
        ok: true,
        x: null,
      },
    };
    const copy = structuredClone(input);
    expect(await creds.interpolate(input)).toEqual({
      params: {
        hello_key: ['hello world', { deep: '-----BEGIN CA-----\nMIIBca-line\n-----END CA-----' }],
        n: 3,
        ok: true,
        x: null,
      },
    });
    expect(input).toEqual(copy);
  });

  it('scopes lookups by team and pipeline', async () => {
    const other = interpolator({ pipeline: 'other' });
    expect(await other.interpolate('((db_password))')).toBe('s3cr3t-team');
  });

  it('names every missing var and the managers asked', async () => {
    const creds = createInterpolator({
      managers: [{ client: envClient }, { client: faultyClient, name: 'named-only' }],
      team: 'main',
      pipeline: 'app',
    });
    const error = await failure(
      creds.interpolate({ a: '((nope))', b: 'x-((also-missing.field))', c: '((token))' }),
    );
    expect(error.code).toBe('CC_E_CREDS_MISSING');
    expect(error.message).toBe('undefined vars: ((nope)), ((also-missing.field)) (asked: env@1.0.0)');
    expect(error.details).toEqual({ vars: ['nope', 'also-missing.field'], managers: ['env@1.0.0'] });
  });

  it('asks the unnamed managers in order, first found wins', async () => {
    const creds = createInterpolator({
      managers: [{ client: envClient }, { client: echoClient }],
      team: 'main',
      pipeline: 'app',
    });
    expect(await creds.interpolate(['((token))', '((only-echo-has-it))'])).toEqual([
      'token-from-env',
      'only-echo-has-it-from-echo',
    ]);
  });

  it('sends ((source:var)) to the named var source only', async () => {
    const creds = createInterpolator({
      managers: [{ client: envClient }, { client: echoClient, name: 'echo-source' }],
      team: 'main',
      pipeline: 'app',
    });
    expect(await creds.interpolate('((echo-source:token))')).toBe('token-from-echo');
    // Unsourced references never reach a named source.
    expect((await failure(creds.interpolate('((only-echo-has-it))'))).code).toBe('CC_E_CREDS_MISSING');
    const unknown = await failure(creds.interpolate('((vault:token))'));
    expect(unknown.code).toBe('CC_E_CREDS_UNKNOWN_SOURCE');
    expect(unknown.message).toContain(
      'var source "vault", which the pipeline does not declare (var sources: echo-source)',
    );
  });

  it('resolves ((.:name)) from the local vars given, never from a manager', async () => {
    const creds = interpolator();
    const localVars = { version: { ref: 'abc123' }, name: 'v1' };
    expect(await creds.interpolate('((.:version.ref))-((.:name))', { localVars })).toBe('abc123-v1');
    expect(
      await creds.interpolate('((.:version))', { localVars: new Map([['version', { ref: 'x' }]]) }),
    ).toEqual({
      ref: 'x',
    });
    const error = await failure(creds.interpolate('((.:token))', { localVars }));
    expect(error.code).toBe('CC_E_CREDS_MISSING');
    expect(error.message).toContain('((.:token))');
  });

  it('takes static vars before the managers, and never redacts them', async () => {
    const creds = interpolator({ staticVars: { token: 'static-token', n: 7 } });
    expect(await creds.interpolate(['((token))', '((n))', 'n=((n))'])).toEqual(['static-token', 7, 'n=7']);
    expect(creds.redact('static-token')).toBe('static-token');
  });

  it('chains the plugin error when a manager fails', async () => {
    const creds = createInterpolator({
      managers: [{ client: faultyClient }, { client: envClient }],
      team: 'main',
    });
    const error = await failure(creds.interpolate({ a: '((plugin-error))' }));
    expect(error.code).toBe('CC_E_CREDS_LOOKUP_FAILED');
    expect(error.message).toContain('looking up ((plugin-error)) in credential manager faulty@1.0.0 failed');
    expect(isConveyorError(error.cause, 'CC_E_PLUGIN_CALL_FAILED')).toBe(true);
    expect((error.cause as { details: Record<string, unknown> }).details.pluginCode).toBe('REPO_NOT_FOUND');
  });

  it('fails on fields that are not there', async () => {
    const creds = interpolator();
    const missing = await failure(creds.interpolate('((creds.password))'));
    expect(missing.code).toBe('CC_E_CREDS_MISSING_FIELD');
    expect(missing.message).toBe('missing field "password" in var ((creds.password))');
    const ofString = await failure(creds.interpolate('((token.field))'));
    expect(ofString.code).toBe('CC_E_CREDS_MISSING_FIELD');
    expect(ofString.message).toContain('the value there is a string, not an object');
  });

  it('refuses an object inside a longer string', async () => {
    const error = await failure(interpolator().interpolate('creds: ((creds.tls))'));
    expect(error.code).toBe('CC_E_CREDS_NOT_INTERPOLATABLE');
    expect(error.message).toContain('((creds.tls)) inside a longer string: its value is an object');
  });

  it('refuses a malformed reference before looking anything up', async () => {
    const error = await failure(interpolator().interpolate(['((token))', '((a."b))']));
    expect(error.code).toBe('CC_E_CREDS_INVALID_REFERENCE');
    expect(error.message).toBe('invalid var ((a."b)): contains unclosed quotes');
  });

  it('leaves values without references as they are', async () => {
    expect(await interpolator().interpolate({ run: 'echo $((1 + 2)) ((not a var))', n: [1, 2] })).toEqual({
      run: 'echo $((1 + 2)) ((not a var))',
      n: [1, 2],
    });
  });
});

describe('redaction of what was interpolated', () => {
  it('redacts every secret resolved, the string fields of objects included, line by line', async () => {
    const creds = interpolator();
    await creds.interpolate({ a: '((db_password))', b: '((creds.port))' });
    // The whole object was looked up: its string fields are secrets too, even those not used.
    expect(creds.secrets().sort()).toEqual(
      ['-----BEGIN CA-----\nMIIBca-line\n-----END CA-----', 'admin', 's3cr3t-pipeline'].sort(),
    );
    expect(creds.redact('login admin/s3cr3t-pipeline ca MIIBca-line port 5432')).toBe(
      `login ${REDACTED}/${REDACTED} ca ${REDACTED} port 5432`,
    );
  });

  it('leaves secrets shorter than three characters in the text', async () => {
    const creds = interpolator();
    expect(await creds.interpolate('((short))')).toBe('ab');
    expect(creds.redact('ab')).toBe('ab');
  });

  it('redacts values tracked by hand, such as a load_var that is not revealed', async () => {
    const creds = interpolator();
    creds.track('loaded-secret-value');
    expect(creds.redact('got loaded-secret-value')).toBe(`got ${REDACTED}`);
  });
});

/** A credentials client that counts lookups, to see what the interpolator caches. */
function countingClient(answer: (path: string, count: number) => credentials.LookupResponse | Error) {
  const counts = new Map<string, number>();
  const client = {
    id: 'counting@1.0.0',
    manifest: { name: 'counting', version: '1.0.0', kind: 'credentials', apiVersion: '^1.0', main: 'x.js' },
    async call(_method: string, request: credentials.LookupRequest) {
      const count = (counts.get(request.path) ?? 0) + 1;
      counts.set(request.path, count);
      const result = answer(request.path, count);
      if (result instanceof Error) throw result;
      return result;
    },
  } as unknown as PluginClient<'credentials'>;
  return { client, counts };
}

describe('caching within a build', () => {
  it('looks each var up once, however often it is used', async () => {
    const { client, counts } = countingClient((path) => ({ found: true, value: `value-of-${path}` }));
    const creds = createInterpolator({ managers: [{ client }], team: 'main' });
    expect(await creds.interpolate(['((a))', '((a))x', '((b))', '((a))'])).toEqual([
      'value-of-a',
      'value-of-ax',
      'value-of-b',
      'value-of-a',
    ]);
    await creds.interpolate('((a))');
    expect(Object.fromEntries(counts)).toEqual({ a: 1, b: 1 });
  });

  it('looks again after cacheTtlMs, and never keeps a value past its expiresAt', async () => {
    let now = 1_000_000;
    const { client, counts } = countingClient((path, count) =>
      path === 'expiring'
        ? { found: true, value: `expiring-${count}`, expiresAt: new Date(now + 10).toISOString() }
        : { found: true, value: `${path}-${count}` },
    );
    const creds = createInterpolator({
      managers: [{ client }],
      team: 'main',
      cacheTtlMs: 100,
      now: () => now,
    });
    expect(await creds.interpolate(['((ttl))', '((expiring))'])).toEqual(['ttl-1', 'expiring-1']);
    now += 50;
    expect(await creds.interpolate(['((ttl))', '((expiring))'])).toEqual(['ttl-1', 'expiring-2']);
    now += 60;
    expect(await creds.interpolate(['((ttl))'])).toEqual(['ttl-2']);
    expect(Object.fromEntries(counts)).toEqual({ ttl: 2, expiring: 2 });
    // Every value seen stays redacted.
    expect(creds.redact('ttl-1 ttl-2 expiring-1')).toBe(`${REDACTED} ${REDACTED} ${REDACTED}`);
  });

  it('does not remember a failed lookup', async () => {
    const { client } = countingClient((path, count) =>
      count === 1 ? new Error('vault is sealed') : { found: true, value: `${path}-ok` },
    );
    const creds = createInterpolator({ managers: [{ client }], team: 'main' });
    const error = await failure(creds.interpolate('((flaky))'));
    expect(error.code).toBe('CC_E_CREDS_LOOKUP_FAILED');
    expect((error.cause as Error).message).toBe('vault is sealed');
    expect(await creds.interpolate('((flaky))')).toBe('flaky-ok');
  });
});
