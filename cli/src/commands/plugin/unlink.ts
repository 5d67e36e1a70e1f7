import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { CliError } from '../../errors/index.js';
import { dataDirFlags, resolveStore } from '../../plugin-dist/command-support.js';
import { type UnlinkResult, unlinkPlugin } from '../../plugin-dist/index.js';

export default class PluginUnlink extends BaseCommand<typeof PluginUnlink> {
  static override summary =
    'Remove a plugin link made by `cc plugin link`, restoring the installed versions.';
  static override examples = ['<%= config.bin %> <%= command.id %> my-plugin'];
  static override enableJsonFlag = true;
  static override args = {
    name: Args.string({ description: 'The plugin name.', required: true }),
  };
  static override flags = { ...dataDirFlags };

  async run(): Promise<UnlinkResult> {
    if (!/^[a-z][a-z0-9-]{0,62}$/.test(this.args.name)) {
      throw new CliError('CC_E_CLI_USAGE', `${JSON.stringify(this.args.name)} is not a plugin name`);
    }
    const { store } = await resolveStore(this.flags);
    const result = await unlinkPlugin(store, this.args.name);
    this.log(`unlinked ${result.name}@${result.version} (${result.path})`);
    if (result.restored.length > 0) this.log(`restored: ${result.restored.join(', ')}`);
    return result;
  }
}
