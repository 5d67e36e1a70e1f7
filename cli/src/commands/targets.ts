import { BaseCommand } from '../base-command.js';
import { renderTable } from '../output/index.js';
import { readTargets } from '../targets/index.js';

/** A saved target as listed: never with its token. */
export interface TargetSummary {
  name: string;
  url: string;
  current: boolean;
}

export default class Targets extends BaseCommand<typeof Targets> {
  static override summary = 'List the saved targets.';
  static override description =
    `Targets live in $CONVEYOR_HOME/targets.yaml (default ~/.conveyor/targets.yaml). The current target, marked with *, is the one commands use when neither --target nor --url is given. Tokens are never printed.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {
      description: 'List targets as JSON, e.g. for jq.',
      command: '<%= config.bin %> <%= command.id %> --json',
    },
  ];
  static override enableJsonFlag = true;

  async run(): Promise<TargetSummary[]> {
    const file = this.targetsFile;
    const { current, targets } = await readTargets(file);
    const list = Object.entries(targets)
      .map(([name, target]) => ({ name, url: target.url, current: name === current }))
      .sort((a, b) => a.name.localeCompare(b.name));
    if (list.length === 0) {
      this.log(`no targets saved in ${file}: run \`cc login\` or \`cc up\``);
    } else {
      this.log(
        renderTable(list, [
          { header: ' ', get: (t) => (t.current ? '*' : ' ') },
          { header: 'NAME', get: (t) => t.name },
          { header: 'URL', get: (t) => t.url },
        ]),
      );
    }
    return list;
  }
}
