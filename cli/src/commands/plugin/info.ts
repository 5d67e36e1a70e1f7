import { PLUGIN_API_VERSION } from '@conveyor/plugin-api';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { openRegistry, registryFlags, resolveStore } from '../../plugin-dist/command-support.js';
import { loadTrustStore, resolvePluginRepository } from '../../plugin-dist/index.js';
import { type PluginInfo, pluginInfo } from '../../plugin-dist/info.js';

export default class PluginInfoCommand extends BaseCommand<typeof PluginInfoCommand> {
  static override summary = 'Show the versions of a plugin in a registry.';
  static override description =
    "Finds NAME's repository as `cc plugin install` does (the namespace's plugin index, else <namespace>/<name>, or --repository) and lists every version there, newest first, with the plugin API range it needs, whether that range includes this host's (and which version `cc plugin install NAME` would pick), and its signature: trusted (by a publisher in <data dir>/trusted-publishers.json or --trust), untrusted, invalid or unsigned. Installs nothing.";
  static override examples = [
    '<%= config.bin %> <%= command.id %> git --registry http://127.0.0.1:5000/plugins --trust publisher.pub',
  ];
  static override enableJsonFlag = true;
  static override args = {
    name: Args.string({ description: 'The plugin name.', required: true }),
  };
  static override flags = {
    ...registryFlags,
    'data-dir': Flags.string({
      summary: 'The server data directory whose trusted-publishers.json to use, as for `cc up`.',
      env: 'CONVEYOR_DATA_DIR',
    }),
    config: Flags.string({
      char: 'c',
      summary: 'Server configuration file (conveyor.yaml), as for `cc up`.',
    }),
    trust: Flags.string({
      summary: 'Also trust this publisher public key (PEM); repeatable.',
      multiple: true,
    }),
  };

  async run(): Promise<PluginInfo> {
    const { flags } = this;
    const { registry: client, ref } = openRegistry(flags.registry, flags.token);
    const { dataDir } = await resolveStore(flags);
    const trust = await loadTrustStore(dataDir, flags.trust ?? []);
    const resolved = await resolvePluginRepository(client, ref.namespace, this.args.name, flags.repository);
    const info = await pluginInfo(client, resolved, this.args.name, PLUGIN_API_VERSION, trust);
    const via = info.via === 'index' ? ' (from the plugin index)' : '';
    this.log(
      `${info.name} in ${info.registry}/${info.repository}${via}${info.description ? `: ${info.description}` : ''}`,
    );
    this.log(`this host has plugin API ${info.hostApiVersion}`);
    for (const v of info.versions) {
      const signature =
        v.signature.status === 'trusted' ? `signed by ${v.signature.publisher}` : v.signature.status;
      const fit = v.installs ? 'installs here' : v.compatible ? 'compatible' : 'incompatible';
      this.log(`  ${v.version}  ${v.kind}  api ${v.apiVersion}  ${fit}  ${signature}  ${v.digest}`);
    }
    return info;
  }
}
