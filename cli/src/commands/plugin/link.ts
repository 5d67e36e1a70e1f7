import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { dataDirFlags, resolveStore } from '../../plugin-dist/command-support.js';
import { type LinkResult, linkPlugin } from '../../plugin-dist/index.js';

export default class PluginLink extends BaseCommand<typeof PluginLink> {
  static override summary = 'Use a plugin under development in place of its installed versions.';
  static override description =
    'Links <store>/<name>/<version> to the package directory PATH (its conveyor-plugin.json names it) and hides the installed versions of that name until `cc plugin unlink NAME`. A running server picks the link up on its next rescan.';
  static override examples = ['<%= config.bin %> <%= command.id %> ./my-plugin'];
  static override enableJsonFlag = true;
  static override args = {
    path: Args.string({
      description: 'The plugin package directory (built: main must exist).',
      required: true,
    }),
  };
  static override flags = { ...dataDirFlags };

  async run(): Promise<LinkResult> {
    const { store } = await resolveStore(this.flags);
    const result = await linkPlugin(store, this.args.path);
    this.log(`linked ${result.name}@${result.version} → ${result.path}`);
    if (result.shadowed.length > 0) this.log(`hidden until unlink: ${result.shadowed.join(', ')}`);
    return result;
  }
}
