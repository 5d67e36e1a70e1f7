import { resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import {
  parseRegistry,
  registryClient,
  registryFlags,
  repositoryOf,
} from '../../plugin-dist/command-support.js';
import {
  type PublishResult,
  packPlugin,
  publishPlugin,
  readPrivateKey,
  updatePluginIndex,
} from '../../plugin-dist/index.js';

export default class PluginPublish extends BaseCommand<typeof PluginPublish> {
  static override summary = 'Pack a plugin and push it to an OCI registry.';
  static override description =
    "Pushes the package in DIR as <namespace>/<name>:<version> (see `cc plugin pack`), and with --sign-key a detached Ed25519 signature that refers to it (OCI referrers API). Prints the manifest digest, which `cc plugin install` records in its lock file. With --index, also lists it in the namespace's plugin index.";
  static override examples = [
    '<%= config.bin %> <%= command.id %> plugins/resource-mock --registry http://127.0.0.1:5000/plugins --token $TOKEN',
    '<%= config.bin %> <%= command.id %> . --registry registry.example.com/ci --sign-key publisher.pem',
  ];
  static override enableJsonFlag = true;
  static override args = {
    dir: Args.string({
      description: 'The package directory (default: the current directory).',
      default: '.',
    }),
  };
  static override flags = {
    ...registryFlags,
    'sign-key': Flags.string({
      summary: 'Ed25519 private key (PEM) to sign the artifact with.',
      helpValue: '<KEY.pem>',
    }),
    index: Flags.boolean({
      summary: "Also list the plugin in the namespace's plugin index (name → repository, its description).",
      description:
        'The index is <namespace>/index:latest; `cc plugin install NAME` then finds the repository through it, whichever namespace it is in (see --repository).',
    }),
  };

  async run(): Promise<PublishResult & { registry: string; index?: { repository: string; digest: string } }> {
    const ref = parseRegistry(this.flags.registry);
    const signKey =
      this.flags['sign-key'] === undefined ? undefined : await readPrivateKey(this.flags['sign-key']);
    const client = registryClient(ref, this.flags.token);
    const packed = await packPlugin(resolve(this.args.dir));
    const result = await publishPlugin({
      from: packed,
      client,
      repository: repositoryOf(ref, this.flags.repository),
      signKey,
    });
    this.log(
      `published ${result.name}@${result.version} to ${ref.url}/${result.repository}:${result.version}`,
    );
    this.log(`digest ${result.digest}`);
    if (result.signature !== undefined) this.log(`signed with key ${result.signature.keyId}`);
    if (!this.flags.index) return { ...result, registry: ref.url };

    const { description } = packed.manifest;
    const entry = { repository: result.repository, ...(description ? { description } : {}) };
    const update = await updatePluginIndex(
      client,
      ref.namespace,
      (index) => {
        index.plugins[result.name] = entry;
        return index;
      },
      { log: (line) => process.stderr.write(`${line}\n`) },
    );
    this.log(
      `listed ${result.name} → ${result.repository} in the plugin index ${ref.url}/${update.repository}`,
    );
    return { ...result, registry: ref.url, index: { repository: update.repository, digest: update.digest } };
  }
}
