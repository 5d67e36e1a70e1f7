import { dirname, join } from 'node:path';
import { type ConfigProblem, configEnvVariables, configSchema, loadConfig } from '@conveyor/core/config';
import { type ConveyorError, isConveyorError } from '@conveyor/core/errors';
import { describe, expect, it } from 'vitest';
import { rejectionOf, writeConfig } from './helpers.js';

/** The `default` the schema documents for a field of one of its $defs. */
function documentedDefault(def: string, field: string): unknown {
  return configSchema.$defs?.[def]?.properties?.[field]?.default;
}

async function invalid(
  promise: Promise<unknown>,
): Promise<{ error: ConveyorError; problems: ConfigProblem[] }> {
  const error = await rejectionOf(promise);
  if (!isConveyorError(error, 'CC_E_CONFIG_INVALID')) throw error;
  return { error, problems: error.details.problems as ConfigProblem[] };
}

describe('loadConfig: precedence', () => {
  it('fills every field with its default when there is no file, variable or flag', async () => {
    const config = await loadConfig({ env: {} });
    const dataDir = process.getuid?.() === 0 ? '/var/lib/conveyor' : config.data_dir;
    expect(config).toEqual({
      data_dir: dataDir,
      external_url: 'http://127.0.0.1:8080',
      api: { host: '127.0.0.1', port: 8080 },
      database: {},
      runtime: { plugin: 'local', config: {} },
      volumes: { plugin: 'naive', config: {} },
      credentials: [{ plugin: 'env', config: {} }],
      plugins: { dir: join(dataDir, 'plugins'), pins: {}, call_timeout_ms: 5 * 60_000, max_memory_mb: 512 },
      builds: { concurrency: 16 },
      log: { level: 'info', format: 'json' },
    });
  });

  it('applies the defaults the schema documents', async () => {
    const config = await loadConfig({ env: {} });
    expect(config.api.host).toBe(documentedDefault('ApiConfig', 'host'));
    expect(config.api.port).toBe(documentedDefault('ApiConfig', 'port'));
    expect(config.runtime.plugin).toBe(configSchema.$defs?.RuntimeConfig?.default);
    expect(config.volumes.plugin).toBe(documentedDefault('VolumesConfig', 'driver'));
    expect(config.credentials.map(({ plugin }) => ({ manager: plugin }))).toEqual(
      configSchema.properties?.credentials?.default,
    );
    expect(documentedDefault('PluginsConfig', 'call_timeout')).toBe('5m');
    expect(config.plugins.call_timeout_ms).toBe(300_000);
    expect(config.plugins.max_memory_mb).toBe(documentedDefault('PluginsConfig', 'max_memory_mb'));
    expect(config.plugins.pins).toEqual(documentedDefault('PluginsConfig', 'pins'));
    expect(config.log.level).toBe(documentedDefault('LogConfig', 'level'));
    expect(config.log.format).toBe(documentedDefault('LogConfig', 'format'));
  });

  it('lets a file override the defaults, with paths relative to the file', async () => {
    const file = await writeConfig(
      [
        'data_dir: ./state',
        'api:',
        '  port: 9090',
        'volumes: { driver: overlay, config: { work_dir: /srv/overlay } }',
        'plugins:',
        '  call_timeout: 1h30m',
        'log:',
        '  level: debug',
        '',
      ].join('\n'),
    );
    const config = await loadConfig({ file, env: {} });
    const dir = dirname(file);
    expect(config.data_dir).toBe(join(dir, 'state'));
    expect(config.plugins.dir).toBe(join(dir, 'state', 'plugins'));
    expect(config.api).toEqual({ host: '127.0.0.1', port: 9090 });
    expect(config.external_url).toBe('http://127.0.0.1:9090');
    expect(config.volumes).toEqual({ plugin: 'overlay', config: { work_dir: '/srv/overlay' } });
    expect(config.plugins.call_timeout_ms).toBe(90 * 60_000);
    expect(config.log).toEqual({ level: 'debug', format: 'json' });
  });

  it('takes an empty file as no configuration', async () => {
    const file = await writeConfig('# nothing configured yet\n');
    const config = await loadConfig({ file, env: {} });
    expect(config.api.port).toBe(8080);
  });

  it('lets the environment override the file, coercing by the schema type', async () => {
    const file = await writeConfig('data_dir: /srv/from-file\napi:\n  port: 9090\nlog: { level: debug }\n');
    const config = await loadConfig({
      file,
      env: {
        CONVEYOR_API_PORT: '9000',
        CONVEYOR_LOG_LEVEL: 'trace',
        CONVEYOR_DATA_DIR: '/srv/from-env',
        CONVEYOR_DATABASE_URL: 'postgres://conveyor@db.internal:5432/conveyor',
        // Credentials managers use the prefix too: not ours, not an error.
        CONVEYOR_VAULT_TOKEN: 's.secret',
        CONVEYOR_PIPELINE_SECRET: 'x',
      },
    });
    expect(config.api.port).toBe(9000);
    expect(typeof config.api.port).toBe('number');
    expect(config.log.level).toBe('trace');
    expect(config.data_dir).toBe('/srv/from-env');
    expect(config.plugins.dir).toBe('/srv/from-env/plugins');
    expect(config.database.url).toBe('postgres://conveyor@db.internal:5432/conveyor');
  });

  it('lets overrides (flags) beat the environment, ignoring unset flags', async () => {
    const config = await loadConfig({
      env: { CONVEYOR_API_PORT: '9000', CONVEYOR_API_HOST: '0.0.0.0' },
      overrides: { api: { port: 9100, host: undefined }, log: { format: 'pretty' } },
    });
    expect(config.api).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(config.external_url).toBe('http://127.0.0.1:9100');
    expect(config.log.format).toBe('pretty');
  });

  it('leaves external_url to the server when the port is chosen at listen time', async () => {
    expect((await loadConfig({ env: {}, overrides: { api: { port: 0 } } })).external_url).toBeUndefined();
    const config = await loadConfig({ env: { CONVEYOR_EXTERNAL_URL: 'https://ci.example.com/' } });
    expect(config.external_url).toBe('https://ci.example.com');
  });

  it('makes paths from the environment and flags absolute against cwd, and expands ~/', async () => {
    const config = await loadConfig({
      cwd: '/srv/ci',
      env: { CONVEYOR_DATA_DIR: 'state', HOME: '/home/ci' },
      overrides: { plugins: { dir: '~/plugins' } },
    });
    expect(config.data_dir).toBe('/srv/ci/state');
    expect(config.plugins.dir).toBe('/home/ci/plugins');
  });

  it('reads the file CONVEYOR_CONFIG names when no file is given', async () => {
    const file = await writeConfig('api: { port: 7070 }\n');
    expect((await loadConfig({ env: { CONVEYOR_CONFIG: file } })).api.port).toBe(7070);
  });
});

describe('loadConfig: plugin selection', () => {
  it('normalises `runtime: containerd@^1`', async () => {
    const file = await writeConfig('runtime: containerd@^1\n');
    const config = await loadConfig({ file, env: {} });
    expect(config.runtime).toEqual({ plugin: 'containerd', range: '^1', config: {} });
  });

  it('normalises the object form and fills the range from plugins.pins', async () => {
    const file = await writeConfig(
      'runtime:\n  plugin: containerd\n  config: { address: /run/containerd/containerd.sock }\nplugins:\n  pins: { containerd: ^1.6, vault: ~2.0.1 }\ncredentials:\n  - manager: vault\n  - manager: env@^1\n',
    );
    const config = await loadConfig({ file, env: {} });
    expect(config.runtime).toEqual({
      plugin: 'containerd',
      range: '^1.6',
      config: { address: '/run/containerd/containerd.sock' },
    });
    expect(config.credentials).toEqual([
      { plugin: 'vault', range: '~2.0.1', config: {} },
      { plugin: 'env', range: '^1', config: {} },
    ]);
  });

  it('keeps a plugin config across layers only while the plugin stays the same', async () => {
    const file = await writeConfig(
      'runtime: { plugin: containerd, config: { namespace: ci } }\nvolumes: { driver: overlay, config: { work_dir: /w } }\n',
    );
    const sameRuntime = await loadConfig({ file, env: { CONVEYOR_RUNTIME: 'containerd@^2' } });
    expect(sameRuntime.runtime).toEqual({ plugin: 'containerd', range: '^2', config: { namespace: 'ci' } });
    const otherPlugins = await loadConfig({
      file,
      env: { CONVEYOR_RUNTIME: 'local', CONVEYOR_VOLUMES_DRIVER: 'auto' },
    });
    expect(otherPlugins.runtime).toEqual({ plugin: 'local', config: {} });
    expect(otherPlugins.volumes).toEqual({ plugin: 'auto', config: {} });
  });
});

describe('loadConfig: problems', () => {
  it('reports an unknown key, a wrong type and a bad enum at once, each at file:line:column', async () => {
    const file = await writeConfig(
      [
        'api:',
        '  host: 0.0.0.0',
        '  port: eighty',
        'volumnes:',
        '  driver: overlay',
        'log:',
        '  level: loud',
        '',
      ].join('\n'),
    );
    const { error, problems } = await invalid(loadConfig({ file, env: {} }));
    expect(problems).toEqual([
      {
        source: 'file',
        file,
        line: 3,
        column: 9,
        path: 'api.port',
        keyword: 'type',
        message: 'must be an integer, not a string',
      },
      {
        source: 'file',
        file,
        line: 4,
        column: 1,
        path: 'volumnes',
        keyword: 'additionalProperties',
        message: 'is not a known field; did you mean `volumes`?',
        suggestion: 'volumes',
      },
      {
        source: 'file',
        file,
        line: 7,
        column: 10,
        path: 'log.level',
        keyword: 'enum',
        message: 'must be one of "fatal", "error", "warn", "info", "debug", "trace"',
      },
    ]);
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('Configuration is invalid (3 problems):');
    expect(lines.slice(1)).toEqual([
      `  ${file}:3:9: api.port must be an integer, not a string`,
      `  ${file}:4:1: volumnes is not a known field; did you mean \`volumes\`?`,
      `  ${file}:7:10: log.level must be one of "fatal", "error", "warn", "info", "debug", "trace"`,
    ]);
  });

  it('places nested unknown keys, missing fields and bad references', async () => {
    const file = await writeConfig(
      [
        'runtime: { plugin: containerd@^1, confg: {} }',
        'credentials:',
        '  - config: { path: /etc/creds }',
        'plugins:',
        '  call_timeout: 1d',
        '  pins: { Git: ^2 }',
        'volumes: { driver: auto@^1 }',
        'dataDir: /srv',
        '',
      ].join('\n'),
    );
    const { problems } = await invalid(loadConfig({ file, env: {} }));
    expect(problems.map(({ line, column, path, keyword }) => ({ line, column, path, keyword }))).toEqual([
      { line: 1, column: 35, path: 'runtime.confg', keyword: 'additionalProperties' },
      { line: 3, column: 5, path: 'credentials[0].manager', keyword: 'required' },
      { line: 5, column: 17, path: 'plugins.call_timeout', keyword: 'format' },
      { line: 6, column: 11, path: 'plugins.pins.Git', keyword: 'format' },
      { line: 7, column: 20, path: 'volumes.driver', keyword: 'format' },
      { line: 8, column: 1, path: 'dataDir', keyword: 'additionalProperties' },
    ]);
    expect(problems[0]?.suggestion).toBe('config');
    expect(problems[2]?.message).toContain('unknown unit `d`');
    expect(problems[4]?.message).toContain('`auto` takes no range');
    expect(problems[5]?.suggestion).toBe('data_dir');
  });

  it('gives file:line:column for a YAML syntax error', async () => {
    const file = await writeConfig('api:\n  port: 8080\nlog: level: debug\n');
    const error = await rejectionOf(loadConfig({ file, env: {} }));
    expect(isConveyorError(error, 'CC_E_CONFIG_YAML')).toBe(true);
    if (!isConveyorError(error)) return;
    expect(error.details.problems).toEqual([
      expect.objectContaining({ source: 'file', file, line: 3, column: 6, keyword: 'yaml' }),
    ]);
    expect(error.message).toContain(`${file}:3:6: `);
  });

  it('reports duplicate keys as YAML errors', async () => {
    const file = await writeConfig('api:\n  port: 1\n  port: 2\n');
    const error = await rejectionOf(loadConfig({ file, env: {} }));
    expect(isConveyorError(error, 'CC_E_CONFIG_YAML')).toBe(true);
    expect(String((error as Error).message)).toContain(`${file}:3:3: `);
  });

  it('names the variable whose value does not fit, without echoing the value', async () => {
    const { error, problems } = await invalid(
      loadConfig({
        env: {
          CONVEYOR_API_PORT: 'http',
          CONVEYOR_PLUGINS_MAX_MEMORY_MB: '1.5',
          CONVEYOR_DATABASE_URL: 'mysql://root:hunter2@db/ci',
        },
      }),
    );
    expect(problems).toEqual([
      expect.objectContaining({
        source: 'env',
        variable: 'CONVEYOR_API_PORT',
        path: 'api.port',
        keyword: 'type',
      }),
      expect.objectContaining({ source: 'env', variable: 'CONVEYOR_DATABASE_URL', path: 'database.url' }),
      expect.objectContaining({
        source: 'env',
        variable: 'CONVEYOR_PLUGINS_MAX_MEMORY_MB',
        path: 'plugins.max_memory_mb',
        keyword: 'type',
      }),
    ]);
    expect(error.message).toContain('CONVEYOR_API_PORT: api.port must be an integer');
    expect(error.message).not.toContain('hunter2');
  });

  it('reports problems of the file, the environment and the flags together', async () => {
    const file = await writeConfig('log: { format: xml }\n');
    const { problems } = await invalid(
      loadConfig({ file, env: { CONVEYOR_LOG_LEVEL: 'loud' }, overrides: { api: { port: 70_000 } } }),
    );
    expect(problems.map(({ source, path }) => `${source} ${path}`)).toEqual([
      'file log.format',
      'env log.level',
      'flag api.port',
    ]);
  });

  it('says when the named file does not exist', async () => {
    const error = await rejectionOf(loadConfig({ file: '/nonexistent/conveyor.yaml', env: {} }));
    expect(isConveyorError(error, 'CC_E_CONFIG_NOT_FOUND')).toBe(true);
    expect((error as Error).message).toContain('/nonexistent/conveyor.yaml');
  });

  it('says when the file cannot be read', async () => {
    const file = await writeConfig('');
    const error = await rejectionOf(loadConfig({ file: dirname(file), env: {} }));
    expect(isConveyorError(error, 'CC_E_CONFIG_UNREADABLE')).toBe(true);
  });
});

describe('configEnvVariables', () => {
  it('derives one variable per scalar field from the schema', () => {
    expect(configEnvVariables().map(({ name, path, type }) => [name, path.join('.'), type])).toEqual([
      ['CONVEYOR_DATA_DIR', 'data_dir', 'string'],
      ['CONVEYOR_EXTERNAL_URL', 'external_url', 'string'],
      ['CONVEYOR_API_HOST', 'api.host', 'string'],
      ['CONVEYOR_API_PORT', 'api.port', 'integer'],
      ['CONVEYOR_DATABASE_URL', 'database.url', 'string'],
      ['CONVEYOR_RUNTIME', 'runtime', 'string'],
      ['CONVEYOR_VOLUMES_DRIVER', 'volumes.driver', 'string'],
      ['CONVEYOR_PLUGINS_DIR', 'plugins.dir', 'string'],
      ['CONVEYOR_PLUGINS_CALL_TIMEOUT', 'plugins.call_timeout', 'string'],
      ['CONVEYOR_PLUGINS_MAX_MEMORY_MB', 'plugins.max_memory_mb', 'integer'],
      ['CONVEYOR_BUILDS_CONCURRENCY', 'builds.concurrency', 'integer'],
      ['CONVEYOR_LOG_LEVEL', 'log.level', 'string'],
      ['CONVEYOR_LOG_FORMAT', 'log.format', 'string'],
    ]);
  });

  it('refuses a schema where two fields would share a variable', () => {
    const schema = {
      type: 'object',
      properties: {
        data_dir: { type: 'string' },
        data: { type: 'object', properties: { dir: { type: 'string' } } },
      },
    };
    expect(() => configEnvVariables(schema)).toThrow(/data_dir and data\.dir both map to CONVEYOR_DATA_DIR/);
  });
});
