import { join, resolve } from 'node:path';
import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { CliError } from '../../errors/index.js';
import { dataDirFlags, resolveStore } from '../../plugin-dist/command-support.js';
import { LOCK_FILE, type RemoveResult, removePlugin } from '../../plugin-dist/index.js';

export default class PluginRemove extends BaseCommand<typeof PluginRemove> {
  static override summary = 'Remove a plugin (one version, or all) from the plugin store.';
  static override description =
    'Deletes <store>/<name>/<version>/ (every version without @VERSION) and its lock file entries. A running server drops it on its next rescan.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> git@2.7.1',
    '<%= config.bin %> <%= command.id %> git',
  ];
  static override enableJsonFlag = true;
  static override args = {
    plugin: Args.string({ description: 'NAME or NAME@VERSION.', required: true }),
  };
  static override flags = { ...dataDirFlags };

  async run(): Promise<RemoveResult[]> {
    const match = /^([a-z][a-z0-9-]{0,62})(?:@([^/\\]+))?$/.exec(this.args.plugin);
    if (match === null) {
      throw new CliError('CC_E_CLI_USAGE', `${JSON.stringify(this.args.plugin)} is not NAME or NAME@VERSION`);
    }
    const [, name = '', version] = match;
    if (version === '.' || version === '..')
      throw new CliError('CC_E_CLI_USAGE', `${version} is not a version`);
    const { dataDir, store } = await resolveStore(this.flags);
    const lockFile = this.flags.lock === undefined ? join(dataDir, LOCK_FILE) : resolve(this.flags.lock);
    const removed = await removePlugin({ store, lockFile }, name, version);
    for (const r of removed) this.log(`removed ${r.name}@${r.version} (${r.path})`);
    return removed;
  }
}
