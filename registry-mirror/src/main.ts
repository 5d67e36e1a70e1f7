#!/usr/bin/env node
/**
 * Run the registry standalone:
 *
 *   node registry-mirror/dist/main.js --root /var/lib/registry --port 5000 --token "$TOKEN:pull,push:plugins/**"
 *   node registry-mirror/dist/main.js --config registry.json      # the options of startRegistryMirror, as JSON
 *   node registry-mirror/dist/main.js --root /var/cache/mirror --upstream https://registry.example.com
 *
 * Flags beat the config file. On start it prints one line, `listening on <url>`, then serves
 * until SIGINT or SIGTERM.
 */
import { optionsFromArgs, USAGE } from './cli-options.js';
import type { RegistryMirrorOptions } from './config.js';
import { RegistryConfigError } from './errors.js';
import { startRegistryMirror } from './index.js';

async function main(): Promise<number> {
  let options: RegistryMirrorOptions | 'help';
  try {
    options = await optionsFromArgs(process.argv.slice(2));
    if (options === 'help') {
      console.log(USAGE);
      return 0;
    }
    const registry = await startRegistryMirror(options);
    console.log(
      `listening on ${registry.url}${options.upstream ? ` (mirror of ${options.upstream.url})` : ''}`,
    );
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await registry.close();
    return 0;
  } catch (error) {
    if (error instanceof RegistryConfigError) {
      console.error(`error ${error.code}: ${error.message}`);
      return 2;
    }
    console.error(error);
    return 1;
  }
}

process.exitCode = await main();
