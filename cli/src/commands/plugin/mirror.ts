import { resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { CliError } from '../../errors/index.js';
import { downloadProgress, openRegistry } from '../../plugin-dist/command-support.js';
import {
  readLockFile,
  readPluginIndex,
  repositoryFor,
  resolvePluginRepository,
} from '../../plugin-dist/index.js';
import {
  type MirrorItem,
  type MirrorResult,
  mirrorPlugin,
  recordMirrored,
  versionsInRange,
} from '../../plugin-dist/mirror.js';
import { OCI_LAYOUT_SCHEME } from '../../plugin-dist/oci-layout-dir.js';

const kSpecPattern = /^([a-z][a-z0-9-]{0,62})(?:@(.+))?$/;

export default class PluginMirror extends BaseCommand<typeof PluginMirror> {
  static override summary = 'Copy plugins, with their signatures, to another registry or to a directory.';
  static override description =
    `For air-gapped sites. Copies each plugin artifact by digest — manifest, config and layer blobs, and the signature artifacts that refer to it — from --from (or, with --lock, from the registry each lock entry names) to DEST. DEST is a registry URL (pushed to, with --dest-token) or a directory, written as an OCI image layout that \`cc plugin install --registry oci-layout:DIR\` installs from. Signatures are copied, not re-made: install on the other side verifies them against the same trusted publishers.

NAME@RANGE mirrors every version that satisfies RANGE (every version without a range), NAME found through --from's plugin index as \`cc plugin install\` finds it; --lock mirrors exactly the digests a lock file lists. Each plugin lands in <DEST namespace>/<name>, and DEST's plugin index (<namespace>/index:latest) records it there, with the source index's description, so the mirror resolves the same names. Download progress goes to stderr.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> http://mirror:5000/plugins --from http://registry:5000/plugins git@^2 --dest-token T',
    '<%= config.bin %> <%= command.id %> ./plugins-offline --lock conveyor-plugins.lock',
  ];
  static override strict = false;
  static override enableJsonFlag = true;
  static override args = {
    dest: Args.string({
      description: 'A registry URL (http://host:5000/plugins) or a directory.',
      required: true,
    }),
  };
  static override flags = {
    from: Flags.string({
      summary:
        'The registry to copy from (also oci-layout:DIR); with --lock, instead of the registries it names.',
      env: 'CONVEYOR_PLUGIN_REGISTRY',
      helpValue: '<URL>',
    }),
    token: Flags.string({ summary: 'Token (or user:password) for --from.', env: 'CONVEYOR_REGISTRY_TOKEN' }),
    'dest-token': Flags.string({ summary: 'Token (or user:password) for a DEST registry.' }),
    lock: Flags.string({ summary: 'Mirror exactly what this lock file (conveyor-plugins.lock) lists.' }),
  };

  async run(): Promise<MirrorResult[]> {
    const { flags } = this;
    // The plugins are the arguments after DEST (this command is not strict about their number).
    const { raw } = await this.parse(PluginMirror);
    const names = raw
      .filter((t) => t.type === 'arg')
      .map((t) => t.input)
      .slice(1);
    if ((flags.lock === undefined) === (names.length === 0)) {
      throw new CliError(
        'CC_E_CLI_USAGE',
        'name the plugins to mirror: NAME[@RANGE]... or --lock FILE (not both)',
      );
    }
    const progress = downloadProgress(this.jsonEnabled());
    this.defer(async () => progress.finish());
    const log = (line: string) => progress.log(line);
    const destValue = /^[a-z][a-z0-9+.-]*:\/\//i.test(this.args.dest)
      ? this.args.dest
      : this.args.dest.startsWith(OCI_LAYOUT_SCHEME)
        ? this.args.dest
        : `${OCI_LAYOUT_SCHEME}${resolve(this.args.dest)}`;
    const dest = openRegistry(destValue, flags['dest-token']);
    const from =
      flags.from === undefined ? undefined : openRegistry(flags.from, flags.token, progress.onBlob);

    const items: MirrorItem[] = [];
    // Index descriptions by name, for the destination's index.
    const descriptions = new Map<string, string>();
    if (flags.lock !== undefined) {
      const lock = await readLockFile(resolve(flags.lock));
      for (const entry of lock.plugins) {
        items.push({
          source: from?.registry ?? openRegistry(entry.registry, flags.token, progress.onBlob).registry,
          repository: entry.repository,
          destRepository: repositoryFor(dest.ref.namespace, entry.name),
          tag: entry.version,
          digest: entry.digest,
        });
      }
    } else {
      if (from === undefined)
        throw new CliError('CC_E_CLI_USAGE', 'pass --from REGISTRY to mirror NAME[@RANGE]');
      // Read once: every name resolves through the same index.
      const index = await readPluginIndex(from.registry, from.ref.namespace);
      for (const spec of names) {
        const match = kSpecPattern.exec(spec);
        if (match === null)
          throw new CliError('CC_E_CLI_USAGE', `${JSON.stringify(spec)} is not NAME or NAME@RANGE`);
        const [, name = '', range] = match;
        const { repository, via } = await resolvePluginRepository(
          from.registry,
          from.ref.namespace,
          name,
          undefined,
          index,
        );
        if (via === 'index')
          log(`${name} is ${repository} (plugin index ${from.registry.url}/${index?.repository})`);
        const description = index?.index.plugins[name]?.description;
        if (description !== undefined) descriptions.set(name, description);
        for (const tag of await versionsInRange(from.registry, repository, name, range)) {
          items.push({
            source: from.registry,
            repository,
            destRepository: repositoryFor(dest.ref.namespace, name),
            tag,
          });
        }
      }
    }
    const results: MirrorResult[] = [];
    for (const item of items) results.push(await mirrorPlugin(item, dest.registry, log));
    // After the plugins: the index never names a repository the mirror does not have yet.
    await recordMirrored(dest.registry, dest.ref.namespace, results, descriptions, log);
    for (const r of results) {
      this.log(
        `mirrored ${r.name}@${r.version} ${r.digest} (${r.signatures.length} signature(s)) → ${r.to}/${r.repository}`,
      );
    }
    return results;
  }
}
