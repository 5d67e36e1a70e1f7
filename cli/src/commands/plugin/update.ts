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
  LOCK_FILE,
  loadTrustStore,
  type UpdateResult,
  updatePlugins,
} from '../../plugin-dist/index.js';

export default class PluginUpdate extends BaseCommand<typeof PluginUpdate> {
  static override summary = 'Update installed plugins to the newest version within their locked range.';
  static override description =
    `Re-resolves NAME (or every plugin in the lock file) against the registry it was installed from: the highest version within the range recorded in the lock entry (the range of \`cc plugin install NAME@RANGE\`; ^<installed major> when none was recorded) whose plugin API range includes this host's. Installs it with every check \`cc plugin install\` makes, removes the version it replaces, and updates the lock file. A linked plugin (cc plugin link) is left alone. Download progress goes to stderr.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> git --trust publisher.pub',
    '<%= config.bin %> <%= command.id %>',
  ];
  static override enableJsonFlag = true;
  static override args = {
    plugin: Args.string({ description: 'The plugin name; omit to update every plugin in the lock file.' }),
  };
  static override flags = {
    registry: Flags.string({
      summary: 'A mirror to resolve against instead of the registry each lock entry names.',
      description:
        "Its path is the mirror's namespace: a plugin not at the repository the lock records is found there by name (the mirror's plugin index, then <namespace>/<name>).",
      helpValue: '<URL>',
    }),
    token: registryFlags.token,
    ...dataDirFlags,
    trust: Flags.string({
      summary: 'Trust this publisher public key (PEM); repeatable.',
      multiple: true,
      helpValue: '<KEY.pub>',
    }),
    'allow-unsigned': Flags.boolean({
      summary: 'Install plugins that are unsigned or signed by no trusted publisher.',
    }),
  };

  async run(): Promise<UpdateResult[]> {
    const { flags } = this;
    const name = this.args.plugin;
    if (name !== undefined && !/^[a-z][a-z0-9-]{0,62}$/.test(name)) {
      throw new CliError('CC_E_CLI_USAGE', `${JSON.stringify(name)} is not a plugin name`);
    }
    const { dataDir, store } = await resolveStore(flags);
    const progress = downloadProgress(this.jsonEnabled());
    this.defer(async () => progress.finish());
    const context: InstallContext = {
      store,
      lockFile: flags.lock === undefined ? join(dataDir, LOCK_FILE) : resolve(flags.lock),
      trust: await loadTrustStore(dataDir, flags.trust ?? []),
      allowUnsigned: flags['allow-unsigned'],
      hostApiVersion: PLUGIN_API_VERSION,
      log: (line) => progress.log(line),
    };
    const results = await updatePlugins(context, name, (entry) => {
      if (flags.registry === undefined) {
        return { client: openRegistry(entry.registry, flags.token, progress.onBlob).registry };
      }
      const mirror = openRegistry(flags.registry, flags.token, progress.onBlob);
      return { client: mirror.registry, mirrorNamespace: mirror.ref.namespace };
    });
    if (results.length === 0) this.log(`${context.lockFile} lists no plugins`);
    for (const r of results) {
      this.log(
        r.status === 'updated'
          ? `updated ${r.name} ${r.from} → ${r.to} (${r.range})`
          : `${r.status === 'linked' ? 'linked, kept' : 'current'} ${r.name}@${r.to} (${r.range})`,
      );
    }
    return results;
  }
}
