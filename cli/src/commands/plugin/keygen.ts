import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.js';
import { CliError } from '../../errors/index.js';
import { generateSigningKeys } from '../../plugin-dist/index.js';

export default class PluginKeygen extends BaseCommand<typeof PluginKeygen> {
  static override summary = 'Make an Ed25519 key pair for signing plugins.';
  static override description =
    'Writes PREFIX.pem (the private key, mode 0600: keep it secret, pass it to `cc plugin publish --sign-key`) and PREFIX.pub (the public key: give it to those who install your plugins, for --trust or trusted-publishers.json). Equivalent to `openssl genpkey -algorithm ed25519`.';
  static override examples = ['<%= config.bin %> <%= command.id %> -o ~/.conveyor/publisher'];
  static override enableJsonFlag = true;
  static override flags = {
    output: Flags.string({
      char: 'o',
      summary: 'Path prefix of the key files.',
      default: 'conveyor-publisher',
      helpValue: '<PREFIX>',
    }),
  };

  async run(): Promise<{ privateKey: string; publicKey: string; keyId: string }> {
    const prefix = resolve(this.flags.output);
    const keys = generateSigningKeys();
    const privateKey = `${prefix}.pem`;
    const publicKey = `${prefix}.pub`;
    try {
      // 'wx': never overwrite a key someone may depend on.
      await writeFile(privateKey, keys.privateKey, { mode: 0o600, flag: 'wx' });
      await writeFile(publicKey, keys.publicKey, { flag: 'wx' });
    } catch (error) {
      throw new CliError(
        'CC_E_CLI_FILE_UNREADABLE',
        `cannot write the key pair: ${(error as Error).message}`,
        {
          cause: error,
          hint: 'choose another prefix with -o; existing keys are never overwritten',
        },
      );
    }
    this.log(`private key: ${privateKey}`);
    this.log(`public key:  ${publicKey}`);
    this.log(`key id:      ${keys.keyId}`);
    return { privateKey, publicKey, keyId: keys.keyId };
  }
}
