import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../../base-command.js';
import { openRegistry, registryFlags } from '../../../plugin-dist/command-support.js';
import {
  checkIndexEntry,
  type PluginIndexEntry,
  readPluginIndex,
  updatePluginIndex,
} from '../../../plugin-dist/index.js';
import { indexEntryWarning } from '../../../plugin-dist/info.js';

export interface IndexAddResult {
  registry: string;
  /** The index's repository, `<namespace>/index`. */
  repository: string;
  /** The index manifest `latest` points at now. */
  digest: string;
  name: string;
  entry: PluginIndexEntry;
  /** The entry it replaced, if NAME was listed already. */
  previous: PluginIndexEntry | null;
  /** False when the index said exactly this already. */
  changed: boolean;
}

export default class PluginIndexAdd extends BaseCommand<typeof PluginIndexAdd> {
  static override summary = "Add a name to the namespace's plugin index, or point it elsewhere.";
  static override description =
    "The plugin index (<namespace>/index:latest; the namespace is the --registry URL's path) maps friendly names to repositories of the same registry, in any namespace, with a short description each. `cc plugin install|info|mirror NAME` resolve NAME through it; `cc plugin search` lists it. NAME is the plugin's name (its conveyor-plugin.json `name`). The index is updated by read-modify-write, checked before and after the write: a concurrent change by someone else is re-read and merged rather than overwritten.";
  static override examples = [
    '<%= config.bin %> <%= command.id %> git acme/conveyor-git --description "Git repositories as a resource" --registry http://127.0.0.1:5000/plugins --token $TOKEN',
  ];
  static override enableJsonFlag = true;
  static override args = {
    name: Args.string({ description: 'The plugin name (e.g. git).', required: true }),
    repository: Args.string({
      description: 'Its repository in the same registry, with its namespace (e.g. acme/conveyor-git).',
      required: true,
    }),
  };
  static override flags = {
    registry: registryFlags.registry,
    token: registryFlags.token,
    description: Flags.string({ char: 'd', summary: 'A short description (one line).' }),
  };

  async run(): Promise<IndexAddResult> {
    const { name, repository } = this.args;
    const description = this.flags.description?.trim();
    const entry: PluginIndexEntry = { repository, ...(description ? { description } : {}) };
    checkIndexEntry(name, entry);
    const { registry, ref } = openRegistry(this.flags.registry, this.flags.token);
    const log = (line: string) => process.stderr.write(`${line}\n`);
    const warning = await indexEntryWarning(registry, repository, name);
    if (warning !== null) log(`warning: ${warning}`);

    const previous = (await readPluginIndex(registry, ref.namespace))?.index.plugins[name] ?? null;
    const update = await updatePluginIndex(
      registry,
      ref.namespace,
      (index) => {
        index.plugins[name] = entry;
        return index;
      },
      { log },
    );
    const where = `${registry.url}/${update.repository}`;
    if (!update.changed) this.log(`${name} → ${repository} is in the plugin index ${where} already`);
    else if (previous === null || previous.repository === repository)
      this.log(
        `${previous === null ? 'added' : 'updated'} ${name} → ${repository} in the plugin index ${where}`,
      );
    else this.log(`${name} → ${repository} in the plugin index ${where} (was ${previous.repository})`);
    return {
      registry: registry.url,
      repository: update.repository,
      digest: update.digest,
      name,
      entry,
      previous,
      changed: update.changed,
    };
  }
}
