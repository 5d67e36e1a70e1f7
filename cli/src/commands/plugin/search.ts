import { PLUGIN_API_VERSION } from '@conveyor/plugin-api';
import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { parseRegistry, registryClient, registryFlags } from '../../plugin-dist/command-support.js';
import { type SearchHit, searchPlugins } from '../../plugin-dist/info.js';

export default class PluginSearch extends BaseCommand<typeof PluginSearch> {
  static override summary = "Search a registry's plugins.";
  static override description =
    "Lists the plugins in the registry's catalog under its namespace (the --registry URL's path) whose name or description contains TERM (any case; all without TERM), each with its latest version, kind and plugin API range. See `cc plugin info NAME` for every version and its signature.";
  static override examples = [
    '<%= config.bin %> <%= command.id %> git --registry http://127.0.0.1:5000/plugins',
  ];
  static override enableJsonFlag = true;
  static override args = {
    term: Args.string({ description: 'Text to look for in names and descriptions.' }),
  };
  static override flags = { token: registryFlags.token, registry: registryFlags.registry };

  async run(): Promise<SearchHit[]> {
    const ref = parseRegistry(this.flags.registry);
    const hits = await searchPlugins(
      registryClient(ref, this.flags.token),
      ref.namespace,
      this.args.term,
      PLUGIN_API_VERSION,
    );
    if (hits.length === 0)
      this.log(
        `no plugins${this.args.term ? ` matching ${JSON.stringify(this.args.term)}` : ''} in ${ref.url}/${ref.namespace}`,
      );
    for (const hit of hits) {
      const fit = hit.compatible ? '' : ` (needs plugin API ${hit.apiVersion})`;
      this.log(
        `${hit.name}@${hit.latest}  ${hit.kind}  api ${hit.apiVersion}${fit}${hit.description ? `  ${hit.description}` : ''}`,
      );
    }
    return hits;
  }
}
