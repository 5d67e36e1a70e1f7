import { join, resolve } from 'node:path';
import { PLUGIN_API_VERSION } from '@conveyor/plugin-api';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { CliError } from '../../errors/index.js';
import {
  dataDirFlags,
  downloadProgress,
  openRegistry,
  registryFlags,
  resolveStore,
} from '../../plugin-dist/command-support.js';
import {
  type InstallContext,
  type InstallResult,
  installFromLock,
  installPlugin,
  LOCK_FILE,
  loadTrustStore,
  resolvePluginRepository,
} from '../../plugin-dist/index.js';

/** `name` or `name@range`. */
const kSpecPattern = /^([a-z][a-z0-9-]{0,62})(?:@(.+))?$/;

export default class PluginInstall extends BaseCommand<typeof PluginInstall> {
  static override summary = 'Install a plugin from an OCI registry into the plugin store.';
  static override description =
    `Finds NAME's repository through the namespace's plugin index (<namespace>/index:latest) when it lists NAME, else at <namespace>/<name>; --repository names one directly. Resolves NAME@RANGE against the repository's tags: the highest version whose version satisfies RANGE and whose plugin API range includes this host's. Checks the signature against the trusted publishers (<data dir>/trusted-publishers.json and --trust), every digest, and every archive entry, then moves the package into <store>/<name>/<version>/ in one rename and records its digest in the lock file (<data dir>/conveyor-plugins.lock). Nothing is installed when a check fails.

Without NAME, installs exactly what the lock file lists, by digest, from the repository each entry records (no index needed). --registry oci-layout:DIR installs from an OCI image layout directory that cc plugin mirror DIR wrote (for air-gapped sites). Download progress goes to stderr: a bar per blob on a terminal, one line per blob otherwise. See docs/plugins.md.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> git@^2 --registry http://127.0.0.1:5000/plugins --trust publisher.pub',
    {
      description: 'Install what the lock file lists, from a mirror.',
      command: '<%= config.bin %> <%= command.id %> --registry http://mirror:5000/plugins',
    },
  ];
  static override enableJsonFlag = true;
  static override args = {
    plugin: Args.string({ description: 'NAME or NAME@RANGE (e.g. git@^2); omit to install the lock file.' }),
  };
  static override flags = {
    ...registryFlags,
    ...dataDirFlags,
    trust: Flags.string({
      summary: 'Trust this publisher public key (PEM); repeatable.',
      multiple: true,
      helpValue: '<KEY.pub>',
    }),
    'allow-unsigned': Flags.boolean({
      summary: 'Install plugins that are unsigned or signed by no trusted publisher.',
    }),
    force: Flags.boolean({ summary: 'Replace a version already in the store with other content.' }),
  };

  async run(): Promise<InstallResult[]> {
    const { flags } = this;
    const { dataDir, store } = await resolveStore(flags);
    const progress = downloadProgress(this.jsonEnabled());
    this.defer(async () => progress.finish());
    const context: InstallContext = {
      store,
      lockFile: flags.lock === undefined ? join(dataDir, LOCK_FILE) : resolve(flags.lock),
      trust: await loadTrustStore(dataDir, flags.trust ?? []),
      allowUnsigned: flags['allow-unsigned'],
      force: flags.force,
      hostApiVersion: PLUGIN_API_VERSION,
      // Straight to stderr: oclif's logToStderr is silent under --json, and progress is not output.
      log: (line) => progress.log(line),
    };
    if (this.args.plugin === undefined) {
      // A --registry given here is a mirror of the registries the lock names: same digests.
      const results = await installFromLock(context, (entry) => {
        if (flags.registry === undefined) {
          return { client: openRegistry(entry.registry, flags.token, progress.onBlob).registry };
        }
        const mirror = openRegistry(flags.registry, flags.token, progress.onBlob);
        return { client: mirror.registry, mirrorNamespace: mirror.ref.namespace };
      });
      if (results.length === 0) this.log(`${context.lockFile} lists no plugins`);
      for (const r of results)
        this.log(`${r.installed ? 'installed' : 'kept'} ${r.name}@${r.version} ${r.digest}`);
      return results;
    }

    const match = kSpecPattern.exec(this.args.plugin);
    if (match === null) {
      throw new CliError(
        'CC_E_CLI_USAGE',
        `${JSON.stringify(this.args.plugin)} is not NAME or NAME@RANGE (a lowercase name, e.g. git@^2)`,
      );
    }
    const [, name = '', range] = match;
    const { registry: client, ref } = openRegistry(flags.registry, flags.token, progress.onBlob);
    const resolved = await resolvePluginRepository(client, ref.namespace, name, flags.repository);
    if (resolved.via === 'index') {
      progress.log(
        `${name} is ${resolved.repository} (plugin index ${client.url}/${resolved.index?.repository})`,
      );
    }
    const result = await installPlugin(
      context,
      { client, repository: resolved.repository, via: resolved.via },
      name,
      range,
    );
    this.log(
      `${result.installed ? 'installed' : 'kept'} ${result.name}@${result.version} ${result.digest}${
        result.signedBy === null ? '' : ` (signed by ${result.signedBy})`
      }`,
    );
    return [result];
  }
}
