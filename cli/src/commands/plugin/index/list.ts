import { BaseCommand } from '../../../base-command.js';
import { renderTable } from '../../../output/index.js';
import { openRegistry, registryFlags } from '../../../plugin-dist/command-support.js';
import { indexRepositoryOf, readPluginIndex } from '../../../plugin-dist/index.js';

export interface IndexListResult {
  registry: string;
  /** The index's repository, `<namespace>/index`. */
  repository: string;
  /** The index manifest `latest` points at; null when the namespace has no index. */
  digest: string | null;
  /** Sorted by name. */
  plugins: Array<{ name: string; repository: string; description: string | null }>;
}

export default class PluginIndexList extends BaseCommand<typeof PluginIndexList> {
  static override summary = "List the namespace's plugin index: names, repositories, descriptions.";
  static override description =
    "Reads <namespace>/index:latest (the namespace is the --registry URL's path; oci-layout:DIR reads a mirror directory). `cc plugin search` shows the same entries with each plugin's latest version.";
  static override examples = ['<%= config.bin %> <%= command.id %> --registry http://127.0.0.1:5000/plugins'];
  static override enableJsonFlag = true;
  static override flags = { registry: registryFlags.registry, token: registryFlags.token };

  async run(): Promise<IndexListResult> {
    const { registry, ref } = openRegistry(this.flags.registry, this.flags.token);
    const fetched = await readPluginIndex(registry, ref.namespace);
    const repository = indexRepositoryOf(ref.namespace);
    if (fetched === null) {
      this.log(
        `no plugin index at ${registry.url}/${repository}:latest; \`cc plugin index add NAME REPOSITORY\` makes one`,
      );
      return { registry: registry.url, repository, digest: null, plugins: [] };
    }
    const plugins = Object.entries(fetched.index.plugins)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, entry]) => ({
        name,
        repository: entry.repository,
        description: entry.description ?? null,
      }));
    if (plugins.length === 0) this.log(`the plugin index ${registry.url}/${repository} is empty`);
    else
      this.log(
        renderTable(plugins, [
          { header: 'NAME', get: (p) => p.name },
          { header: 'REPOSITORY', get: (p) => p.repository },
          { header: 'DESCRIPTION', get: (p) => p.description ?? '' },
        ]),
      );
    return { registry: registry.url, repository, digest: fetched.digest, plugins };
  }
}
