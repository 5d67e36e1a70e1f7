import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { ApiClient } from '../client/index.js';
import { CliError } from '../errors/index.js';
import { normalizeUrl, readTargets, targetNamePattern, writeTargets } from '../targets/index.js';

export interface LoginResult {
  target: string;
  url: string;
  file: string;
}

export default class Login extends BaseCommand<typeof Login> {
  static override summary = 'Save a server and its token as a target.';
  static override description =
    `Checks the token against the server (it must be allowed to list plugins), then saves the URL and token under the target name in $CONVEYOR_HOME/targets.yaml (default ~/.conveyor/targets.yaml, mode 0600) and makes it the current target, used when a command names none.`;
  static override examples = [
    {
      description: 'Log in to a team server and save it as "ci".',
      command:
        '<%= config.bin %> <%= command.id %> --url https://ci.example.com --token "$CONVEYOR_TOKEN" -t ci',
    },
    {
      description: 'Log in to a local server started elsewhere.',
      command: '<%= config.bin %> <%= command.id %> --url http://127.0.0.1:8080 --token TOKEN -t local',
    },
  ];
  static override enableJsonFlag = true;
  static override flags = {
    url: Flags.string({
      summary: 'Root URL of the Conveyor server.',
      env: 'CONVEYOR_URL',
      required: true,
    }),
    token: Flags.string({
      summary: 'API token to log in with (an admin token, or one an admin created).',
      description:
        'Prefer the CONVEYOR_TOKEN variable: a token on the command line is visible to other users in `ps` and stays in shell history.',
      env: 'CONVEYOR_TOKEN',
      required: true,
    }),
    target: Flags.string({
      char: 't',
      summary: 'Name to save the target under.',
      env: 'CONVEYOR_TARGET',
      default: 'default',
    }),
  };

  async run(): Promise<LoginResult> {
    const { target: name, token } = this.flags;
    if (!targetNamePattern.test(name)) {
      throw new CliError(
        'CC_E_CLI_USAGE',
        `invalid target name "${name}": use letters, digits, ".", "_" and "-", starting with a letter or digit`,
      );
    }
    const url = normalizeUrl(this.flags.url);
    // Verify before saving, so a typo never replaces a working target.
    await new ApiClient({ name, url, token }).listPlugins();

    const file = this.targetsFile;
    const targets = await readTargets(file);
    targets.targets[name] = { url, token };
    targets.current = name;
    await writeTargets(file, targets);
    this.log(`logged in to ${url}; saved target "${name}" in ${file}`);
    return { target: name, url, file };
  }
}
