import { TargetCommand } from '../base-command.js';
import type { ResourceVersion } from '../client/index.js';
import { resourceFlag, teamFlag, versionFlag } from '../refs/index.js';
import { setVersionEnabled } from '../resources/index.js';

export default class DisableResourceVersion extends TargetCommand<typeof DisableResourceVersion> {
  static override summary = 'Disable a version of a resource, so no job uses it.';
  static override description =
    'The version is found as `cc pin-resource` finds it: the given KEY:VALUE fields must match exactly, but not every field is needed; when several versions match, the newest is disabled (like fly). `cc enable-resource-version` enables it again.';
  static override hiddenAliases = ['drv'];
  static override examples = ['<%= config.bin %> <%= command.id %> -r app/repo -v ref:abc123'];
  static override enableJsonFlag = true;
  static override flags = {
    resource: resourceFlag,
    version: versionFlag('A field of the version to disable, as KEY:VALUE; repeatable.'),
    team: teamFlag,
  };

  async run(): Promise<ResourceVersion> {
    const version = await setVersionEnabled(await this.client(), this.flags, false);
    this.log(`disabled version ${JSON.stringify(version.version)}`);
    return version;
  }
}
