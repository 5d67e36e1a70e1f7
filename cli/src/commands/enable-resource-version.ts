import { TargetCommand } from '../base-command.js';
import type { ResourceVersion } from '../client/index.js';
import { resourceFlag, teamFlag, versionFlag } from '../refs/index.js';
import { setVersionEnabled } from '../resources/index.js';

export default class EnableResourceVersion extends TargetCommand<typeof EnableResourceVersion> {
  static override summary = 'Enable a version of a resource disabled with `cc disable-resource-version`.';
  static override description =
    'Jobs may use the version again. It is found as `cc pin-resource` finds it: the given KEY:VALUE fields must match exactly, but not every field is needed; when several versions match, the newest is enabled (like fly).';
  static override hiddenAliases = ['erv'];
  static override examples = ['<%= config.bin %> <%= command.id %> -r app/repo -v ref:abc123'];
  static override enableJsonFlag = true;
  static override flags = {
    resource: resourceFlag,
    version: versionFlag('A field of the version to enable, as KEY:VALUE; repeatable.'),
    team: teamFlag,
  };

  async run(): Promise<ResourceVersion> {
    const version = await setVersionEnabled(await this.client(), this.flags, true);
    this.log(`enabled version ${JSON.stringify(version.version)}`);
    return version;
  }
}
