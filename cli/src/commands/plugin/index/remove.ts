import { Args } from '@oclif/core';
import { BaseCommand } from '../../../base-command.js';
import { CliError } from '../../../errors/index.js';
import { openRegistry, registryFlags } from '../../../plugin-dist/command-support.js';
import {
  indexRepositoryOf,
  type PluginIndexEntry,
  readPluginIndex,
  unknownName,
  updatePluginIndex,
} from '../../../plugin-dist/index.js';

export interface IndexRemoveResult {
  registry: string;
  /** The index's repository, `<namespace>/index`. */
  repository: string;
  digest: string;
  name: string;
  /** The entry that was removed. */
  removed: PluginIndexEntry;
}

export default class PluginIndexRemove extends BaseCommand<typeof PluginIndexRemove> {
  static override summary = "Remove a name from the namespace's plugin index.";
  static override description =
    'Only the index entry goes: the repository and its versions stay, and lock files that recorded it install from it as before. `cc plugin install NAME` then looks in <namespace>/<name> again.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> git --registry http://127.0.0.1:5000/plugins --token $TOKEN',
  ];
  static override enableJsonFlag = true;
  static override args = {
    name: Args.string({ description: 'The name to remove.', required: true }),
  };
  static override flags = { registry: registryFlags.registry, token: registryFlags.token };

  async run(): Promise<IndexRemoveResult> {
    const { name } = this.args;
    const { registry, ref } = openRegistry(this.flags.registry, this.flags.token);
    const current = await readPluginIndex(registry, ref.namespace);
    if (current === null) {
      throw new CliError(
        'CC_E_CLI_PLUGIN_UNKNOWN_NAME',
        `${registry.url} has no plugin index in ${ref.namespace} (${indexRepositoryOf(ref.namespace)}:latest), so nothing to remove`,
        { details: { plugin: name, index: `${registry.url}/${indexRepositoryOf(ref.namespace)}` } },
      );
    }
    const removed = current.index.plugins[name];
    if (removed === undefined) throw unknownName(registry.url, current, name, undefined);
    const update = await updatePluginIndex(
      registry,
      ref.namespace,
      (index) => {
        delete index.plugins[name];
        return index;
      },
      { log: (line) => process.stderr.write(`${line}\n`) },
    );
    this.log(
      `removed ${name} (${removed.repository}) from the plugin index ${registry.url}/${update.repository}`,
    );
    return { registry: registry.url, repository: update.repository, digest: update.digest, name, removed };
  }
}
