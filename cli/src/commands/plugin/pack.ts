import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { CliError } from '../../errors/index.js';
import { ociLayoutTar, packPlugin } from '../../plugin-dist/index.js';

export interface PackResult {
  name: string;
  version: string;
  /** The plugin manifest's digest: what publish pushes and install records. */
  digest: string;
  config: string;
  layer: string;
  files: readonly string[];
  output?: string;
}

export default class PluginPack extends BaseCommand<typeof PluginPack> {
  static override summary = 'Pack a plugin package directory into an OCI artifact.';
  static override description =
    'Reads DIR/conveyor-plugin.json, packs the package deterministically (sorted entries, fixed mtimes, no owners) and prints the digests of the manifest, config and layer: the same files give the same digests anywhere. With -o it writes an OCI image layout tarball that oras, skopeo or crane can push. See docs/plugins.md.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> plugins/resource-mock',
    '<%= config.bin %> <%= command.id %> . -o mock-1.0.0.tar',
  ];
  static override enableJsonFlag = true;
  static override args = {
    dir: Args.string({
      description: 'The package directory (default: the current directory).',
      default: '.',
    }),
  };
  static override flags = {
    output: Flags.string({
      char: 'o',
      summary: 'Write an OCI image layout tarball here.',
      helpValue: '<FILE>',
    }),
  };

  async run(): Promise<PackResult> {
    const packed = await packPlugin(resolve(this.args.dir));
    const result: PackResult = {
      name: packed.manifest.name,
      version: packed.manifest.version,
      digest: packed.artifact.descriptor.digest,
      config: packed.config.descriptor.digest,
      layer: packed.layer.descriptor.digest,
      files: packed.files,
    };
    if (this.flags.output !== undefined) {
      const output = resolve(this.flags.output);
      await writeFile(output, await ociLayoutTar(packed)).catch((error: unknown) => {
        throw new CliError(
          'CC_E_CLI_FILE_UNREADABLE',
          `cannot write ${output}: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      });
      result.output = output;
    }
    this.log(`${result.name}@${result.version}`);
    this.log(`manifest ${result.digest}`);
    this.log(`config   ${result.config}`);
    this.log(
      `layer    ${result.layer} (${packed.layer.descriptor.size} bytes, ${packed.files.length} entries)`,
    );
    if (result.output !== undefined) this.log(`wrote ${result.output}`);
    return result;
  }
}
