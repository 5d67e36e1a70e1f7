import { PLUGIN_API_VERSION } from '@conveyor/plugin-api';
import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { openRegistry, registryFlags } from '../../plugin-dist/command-support.js';
import { type SearchHit, searchPlugins } from '../../plugin-dist/info.js';

export default class PluginSearch extends BaseCommand<typeof PluginSearch> {
  static override summary = "Search a registry's plugins.";
  static override description =
    "Lists the entries of the namespace's plugin index (<namespace>/index:latest; the namespace is the --registry URL's path) with their descriptions, or, without an index, the plugins in the registry's catalog under the namespace; those whose name or description contains TERM (any case; all without TERM), each with its latest version, kind and plugin API range. See `cc plugin info NAME` for every version and its signature.";
  static override examples = [
    '<%= config.bin %> <%= command.id %> git --registry http://127.0.0.1:5000/plugins',
  ];
  static override enableJsonFlag = true;
  static override args = {
    term: Args.string({ description: 'Text to look for in names and descriptions.' }),
  };
  static override flags = { token: registryFlags.token, registry: registryFlags.registry };

  async run(): Promise<SearchHit[]> {
    const { registry, ref } = openRegistry(this.flags.registry, this.flags.token);
    const { source, hits } = await searchPlugins(registry, ref.namespace, this.args.term, PLUGIN_API_VERSION);
    const where =
      source === 'index' ? `the plugin index of ${ref.url}/${ref.namespace}` : `${ref.url}/${ref.namespace}`;
    if (hits.length === 0)
      this.log(
        `no plugins${this.args.term ? ` matching ${JSON.stringify(this.args.term)}` : ''} in ${where}`,
      );
    for (const hit of hits) {
      const description = hit.description ? `  ${hit.description}` : '';
      if (hit.latest === null) {
        this.log(`${hit.name}  (no versions in ${hit.repository})${description}`);
        continue;
      }
      const fit = hit.compatible ? '' : ` (needs plugin API ${hit.apiVersion})`;
      const repository = hit.indexed ? `  ${hit.repository}` : '';
      this.log(
        `${hit.name}@${hit.latest}  ${hit.kind}  api ${hit.apiVersion}${fit}${repository}${description}`,
      );
    }
    return hits;
  }
}
