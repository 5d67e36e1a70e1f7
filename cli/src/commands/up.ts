import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { ApiClient } from '../client/index.js';
import { CliError } from '../errors/index.js';
import { runExample } from '../example/index.js';
import { readTargets, targetNamePattern, writeTargets } from '../targets/index.js';

/**
 * The plugins every `cc up` server loads, shipped with the CLI: the quick-start set, and the
 * containerd runtime and copy-on-write volume drivers that `runtime:` and `volumes.driver:` in
 * conveyor.yaml switch to with one line.
 */
const builtinPluginPackages = [
  '@conveyor/plugin-runtime-local',
  '@conveyor/plugin-runtime-containerd',
  '@conveyor/plugin-volume-naive',
  '@conveyor/plugin-volume-overlay',
  '@conveyor/plugin-volume-btrfs',
  '@conveyor/plugin-credentials-env',
  '@conveyor/plugin-resource-mock',
  '@conveyor/plugin-resource-time',
  '@conveyor/plugin-resource-git',
  '@conveyor/plugin-resource-concourse',
  '@conveyor/plugin-resource-registry-image',
];

export default class Up extends BaseCommand<typeof Up> {
  static override summary = 'Start a Conveyor server in this process.';
  static override description =
    `Starts the whole server (Postgres, the plugin host with the built-in plugins, the API) in the foreground until Ctrl-C or SIGTERM, then shuts it down cleanly.

On the first start of a data directory the server creates an admin token; cc up prints it once and saves it, with the server's URL, as the target "local" (or the name given with -t), which becomes the current target. Later starts update the URL and keep the saved token.`;
  static override examples = [
    {
      description: 'Start a server with the defaults, then list its plugins from another shell.',
      command: '<%= config.bin %> <%= command.id %>\n<%= config.bin %> plugin list',
    },
    {
      description: 'Keep the state in ./ci-data and listen on port 9090 on every interface.',
      command: '<%= config.bin %> <%= command.id %> --data-dir ./ci-data --port 9090 --host 0.0.0.0',
    },
    {
      description: 'Start with a configuration file.',
      command: '<%= config.bin %> <%= command.id %> -c conveyor.yaml',
    },
    {
      description: 'Start, then set and run the example pipeline "hello" and show its log.',
      command: '<%= config.bin %> <%= command.id %> --example',
    },
  ];
  static override flags = {
    'data-dir': Flags.string({
      summary: "Directory for the server's state (database, plugin store, volumes).",
      description: 'Created on first start; the server picks its default location when omitted.',
    }),
    port: Flags.integer({ summary: 'TCP port to listen on (0 picks a free one).', min: 0, max: 65_535 }),
    host: Flags.string({ summary: 'Address to listen on, e.g. 127.0.0.1 or 0.0.0.0.' }),
    config: Flags.string({ char: 'c', summary: 'Server configuration file (conveyor.yaml).' }),
    target: Flags.string({
      char: 't',
      summary: 'Name of the target to save the local server as.',
      default: 'local',
    }),
    example: Flags.boolean({
      summary: 'Once the server runs, set the example pipeline "hello", trigger it and stream its log.',
      description:
        'Sets examples/hello.yml (shipped with the CLI) as pipeline hello without asking, unpauses it, triggers hello/say-hello and streams its log like cc watch; then the server keeps running.',
    }),
  };

  async run(): Promise<void> {
    const { target: name } = this.flags;
    if (!targetNamePattern.test(name)) {
      throw new CliError('CC_E_CLI_USAGE', `invalid target name "${name}"`);
    }
    // Imported here, not at the top: only `cc up` needs the core, and every other command (and
    // `cc --help`, which loads all commands) should start without it.
    const { startServer } = await import('@conveyor/core/server');
    const server = await startServer({
      configFile: this.flags.config,
      dataDir: this.flags['data-dir'],
      port: this.flags.port,
      host: this.flags.host,
      builtinPluginDirs: builtinPluginPackages.map(packageDir),
      log: (line) => this.logToStderr(line),
    }).catch((error: unknown) => {
      throw new CliError('CC_E_CLI_SERVER_FAILED', 'the server did not start', { cause: error });
    });
    this.defer(async () => {
      await server.close().catch((error: unknown) => {
        throw new CliError('CC_E_CLI_SERVER_FAILED', 'the server did not shut down cleanly', {
          cause: error,
        });
      });
      this.log('stopped');
    });

    this.log(`Conveyor is running at ${server.url}`);
    this.log(`data directory: ${server.dataDir}`);
    const saved = await this.saveTarget(name, server);
    if (server.adminToken !== null) {
      this.log(`admin token (shown once; saved in target "${name}"): ${server.adminToken}`);
    } else if (saved.token === undefined) {
      this.logToStderr(
        `warning: target "${name}" has no token for this data directory; run \`cc login -t ${name} --url ${server.url} --token TOKEN\``,
      );
    }
    this.log(`saved target "${name}" in ${this.targetsFile}; try \`cc plugin list\``);

    // Listening from here on: a Ctrl-C during the example stops it and the server alike.
    const signalled = nextSignal();
    if (this.flags.example) await this.runExample(name, server.url, saved.token, signalled);
    this.log('press Ctrl-C to stop (twice to force)');

    const signal = await signalled;
    this.log(`${signal}: shutting down`);
    // finally() closes the server (see defer above).
  }

  /**
   * `--example`: runs the example against the server just started. A failure is reported, not
   * fatal: the server is what `cc up` is for, and it keeps serving.
   */
  private async runExample(
    name: string,
    url: string,
    token: string | undefined,
    signalled: Promise<NodeJS.Signals>,
  ): Promise<void> {
    if (token === undefined) {
      this.logToStderr(`warning: no token for target "${name}", so the example is not run`);
      return;
    }
    const stop = new AbortController();
    void signalled.then(() => stop.abort());
    try {
      await runExample({
        client: new ApiClient({ name, url, token }),
        out: (line) => this.log(line),
        write: (text) => this.write(text),
        err: (line) => this.logToStderr(line),
        style: this.style,
        signal: stop.signal,
      });
    } catch (error) {
      if (stop.signal.aborted) return;
      const code = error instanceof CliError ? ` (${error.code})` : '';
      const message = error instanceof Error ? error.message : String(error);
      this.logToStderr(`warning: the example did not run to the end${code}: ${message}`);
    }
  }

  /** Saves the server as a target: a new admin token replaces the saved one, else it is kept. */
  private async saveTarget(
    name: string,
    server: { url: string; adminToken: string | null; dataDir: string },
  ): Promise<{ token?: string }> {
    const file = this.targetsFile;
    const targets = await readTargets(file);
    const previous = targets.targets[name];
    // A saved token is only worth keeping if it was issued by this data directory's server.
    const sameData =
      previous !== undefined && (previous.dataDir === undefined || previous.dataDir === server.dataDir);
    const token = server.adminToken ?? (sameData ? previous.token : undefined);
    targets.targets[name] = {
      url: server.url,
      ...(token === undefined ? {} : { token }),
      dataDir: server.dataDir,
    };
    targets.current = name;
    await writeTargets(file, targets);
    return token === undefined ? {} : { token };
  }
}

function packageDir(name: string): string {
  try {
    return dirname(fileURLToPath(import.meta.resolve(`${name}/conveyor-plugin.json`)));
  } catch (error) {
    throw new CliError('CC_E_CLI_SERVER_FAILED', `the built-in plugin package ${name} cannot be found`, {
      cause: error,
      hint: 'reinstall Conveyor: the built-in plugins ship with the CLI',
    });
  }
}

/** Resolves on the first SIGINT or SIGTERM; a second one gets Node's default: the process ends. */
function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
