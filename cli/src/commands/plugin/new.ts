import { resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { type ScaffoldResult, scaffoldKinds, scaffoldPlugin } from '../../plugin-dist/scaffold.js';

export default class PluginNew extends BaseCommand<typeof PluginNew> {
  static override summary = 'Start a new plugin package.';
  static override description =
    'Writes a small TypeScript plugin of the given kind into DIR (default: ./NAME): package.json, tsconfig.json, conveyor-plugin.json with its schemas, src/index.ts and a test that runs the conformance suite. It builds with `npm run build` (tsc) and publishes as it is with `cc plugin publish`. It imports @conveyor/plugin-api only, which the server provides.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> resource-type hello',
    '<%= config.bin %> <%= command.id %> resource-type my-resource --dir plugins/my-resource',
  ];
  static override enableJsonFlag = true;
  static override args = {
    kind: Args.string({ description: 'The kind of plugin.', required: true, options: [...scaffoldKinds] }),
    name: Args.string({ description: 'The plugin name, e.g. hello.', required: true }),
  };
  static override flags = {
    dir: Flags.string({
      summary: 'Where to write the package (must not exist or be empty).',
      helpValue: '<DIR>',
    }),
  };

  async run(): Promise<ScaffoldResult> {
    const dir = resolve(this.flags.dir ?? this.args.name);
    const result = await scaffoldPlugin(
      this.args.kind as (typeof scaffoldKinds)[number],
      this.args.name,
      dir,
    );
    this.log(`created ${result.kind} plugin ${result.name} in ${dir}`);
    for (const file of result.files) this.log(`  ${file}`);
    this.log('next: npm run build && npm test, then cc plugin publish');
    return result;
  }
}
