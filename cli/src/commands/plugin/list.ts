import { TargetCommand } from '../../base-command.js';
import type { PluginSummary } from '../../client/index.js';
import { renderTable } from '../../output/index.js';

export default class PluginList extends TargetCommand<typeof PluginList> {
  static override summary = 'List the plugins the server knows.';
  static override description =
    `Shows every plugin the target server's plugin host found: built in, installed into its plugin store, or linked from a local directory, with the plugin API range each implements.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {
      description: 'List the plugins of the target "ci" as JSON.',
      command: '<%= config.bin %> <%= command.id %> -t ci --json',
    },
  ];
  static override enableJsonFlag = true;

  async run(): Promise<PluginSummary[]> {
    const client = await this.client();
    const plugins = await client.listPlugins();
    this.log(
      renderTable(plugins, [
        { header: 'NAME', get: (p) => p.name },
        { header: 'VERSION', get: (p) => p.version },
        { header: 'KIND', get: (p) => p.kind },
        { header: 'API', get: (p) => p.apiVersion },
        { header: 'SOURCE', get: (p) => p.source },
      ]),
    );
    return plugins;
  }
}
