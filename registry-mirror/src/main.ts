#!/usr/bin/env node
/**
 * Run the registry standalone:
 *
 *   node registry-mirror/dist/main.js --root /var/lib/registry --port 5000 --token "$TOKEN:pull,push:plugins/**"
 *   node registry-mirror/dist/main.js --config registry.json      # the options of startRegistryMirror, as JSON
 *   node registry-mirror/dist/main.js --root /var/cache/mirror --upstream https://registry.example.com
 *
 *   node registry-mirror/dist/main.js gc --root /var/lib/registry [--dry-run] [--grace 1h] [--json]
 *
 * Flags beat the config file. On start it prints one line, `listening on <url>`, then serves
 * until SIGINT or SIGTERM. `gc` prints what it deleted and the bytes freed, then exits 0.
 */
import { GC_USAGE, type GcCommandOptions, gcOptionsFromArgs, optionsFromArgs, USAGE } from './cli-options.js';
import type { RegistryMirrorOptions } from './config.js';
import { RegistryConfigError } from './errors.js';
import { collectGarbage, type GcReport, startRegistryMirror } from './index.js';

/** The text report of `gc`: one line per thing removed, then the totals. */
function formatReport(report: GcReport): string {
  const verb = (done: string, would: string) => (report.dryRun ? would : done);
  const lines = [
    ...report.blobs.map((b) => `${verb('deleted', 'would delete')} blob ${b.digest} (${b.size} bytes)`),
    ...report.manifests.map(
      (m) =>
        `${verb('unlinked', 'would unlink')} manifest ${m.repository}@${m.digest} (referrer of ${m.subject}, which is gone)`,
    ),
    ...report.uploads.map(
      (u) =>
        `${verb('removed', 'would remove')} upload ${u.id}${u.repository ? ` of ${u.repository}` : ''} (${u.size} bytes)`,
    ),
  ];
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(
    `${report.dryRun ? 'dry run: ' : ''}${plural(report.blobs.length, 'blob')}, ${plural(report.manifests.length, 'manifest')}, ` +
      `${plural(report.uploads.length, 'upload')}; ${report.bytesFreed} bytes ${verb('freed', 'would be freed')}; ` +
      `kept ${plural(report.kept.blobs, 'blob')} (${report.kept.bytes} bytes)`,
  );
  return lines.join('\n');
}

async function gc(args: string[]): Promise<number> {
  const options: GcCommandOptions | 'help' = await gcOptionsFromArgs(args);
  if (options === 'help') {
    console.log(GC_USAGE);
    return 0;
  }
  const { json, ...gcOptions } = options;
  const report = await collectGarbage(gcOptions);
  console.log(json ? JSON.stringify(report, null, 2) : formatReport(report));
  return 0;
}

async function main(): Promise<number> {
  let options: RegistryMirrorOptions | 'help';
  try {
    const args = process.argv.slice(2);
    if (args[0] === 'gc') return await gc(args.slice(1));
    options = await optionsFromArgs(args);
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
