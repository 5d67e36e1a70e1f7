/**
 * What the `cc plugin` distribution commands share: the registry flags, the parsing of
 * `--registry URL` into a client and a namespace, and the data directory of `cc up`.
 */
import { Flags } from '@oclif/core';
import { CliError } from '../errors/index.js';
import { type BlobProgressEvent, OciClient, type RegistryReader, type RegistryWriter } from './oci-client.js';
import { OCI_LAYOUT_SCHEME, OciLayoutDir } from './oci-layout-dir.js';
import { DownloadProgress } from './progress.js';
import { repositoryFor } from './publish.js';

export const registryFlags = {
  registry: Flags.string({
    summary: 'Plugin registry URL; its path is the namespace (http://host:5000/plugins).',
    description: 'Repositories are <namespace>/<name>; the namespace is "plugins" when the URL has no path.',
    env: 'CONVEYOR_PLUGIN_REGISTRY',
    helpValue: '<URL>',
  }),
  repository: Flags.string({
    summary: 'Repository to use instead of <namespace>/<name>.',
    helpValue: '<NAME>',
  }),
  token: Flags.string({
    summary: 'Registry token (or user:password).',
    env: 'CONVEYOR_REGISTRY_TOKEN',
  }),
};

export const dataDirFlags = {
  'data-dir': Flags.string({
    summary: "The server's data directory, as for `cc up` (holds the plugin store).",
    env: 'CONVEYOR_DATA_DIR',
  }),
  config: Flags.string({ char: 'c', summary: 'Server configuration file (conveyor.yaml), as for `cc up`.' }),
  lock: Flags.string({ summary: 'Lock file to read and update (default <data dir>/conveyor-plugins.lock).' }),
};

export interface RegistryRef {
  /** The registry's origin. */
  url: string;
  namespace: string;
}

const kDefaultNamespace = 'plugins';

export function parseRegistry(value: string | undefined): RegistryRef {
  if (value === undefined || value === '') {
    throw new CliError(
      'CC_E_CLI_USAGE',
      'no plugin registry: pass --registry URL or set CONVEYOR_PLUGIN_REGISTRY',
    );
  }
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `https://${value}`);
  } catch (error) {
    throw new CliError('CC_E_CLI_USAGE', `--registry ${JSON.stringify(value)} is not a URL`, {
      cause: error,
    });
  }
  const namespace = url.pathname.replace(/^\/+|\/+$/g, '') || kDefaultNamespace;
  return { url: url.origin, namespace };
}

export function registryClient(
  ref: RegistryRef,
  token: string | undefined,
  onProgress?: (event: BlobProgressEvent) => void,
): OciClient {
  return new OciClient({ url: ref.url, token, onProgress });
}

/**
 * The progress output of a command that downloads: bars when stderr is a terminal and the output
 * is not --json, plain lines otherwise. Never stdout: that is the command's output.
 */
export function downloadProgress(json: boolean): DownloadProgress {
  return new DownloadProgress({
    stream: process.stderr,
    live: process.stderr.isTTY === true && !json && process.env.TERM !== 'dumb',
  });
}

export function repositoryOf(ref: RegistryRef, explicit: string | undefined): (name: string) => string {
  return (name) => explicit ?? repositoryFor(ref.namespace, name);
}

/** The data directory and plugin store the server would use (the same resolution as `cc up`). */
export async function resolveStore(flags: {
  'data-dir'?: string | undefined;
  config?: string | undefined;
}): Promise<{ dataDir: string; store: string }> {
  // Imported here: only these commands need the configuration loader.
  const { loadConfig } = await import('@conveyor/core/config');
  const config = await loadConfig({
    ...(flags.config === undefined ? {} : { file: flags.config }),
    overrides: { data_dir: flags['data-dir'] },
  });
  return { dataDir: config.data_dir, store: config.plugins.dir };
}

/**
 * A registry URL, or `oci-layout:DIR` (an OCI image layout directory, as `cc plugin mirror DIR`
 * writes), opened for reading and writing; the namespace of a layout is "plugins".
 */
export function openRegistry(
  value: string | undefined,
  token: string | undefined,
  onProgress?: (event: BlobProgressEvent) => void,
): { registry: RegistryReader & RegistryWriter; ref: RegistryRef } {
  if (value?.startsWith(OCI_LAYOUT_SCHEME)) {
    const dir = value.slice(OCI_LAYOUT_SCHEME.length);
    if (dir === '') throw new CliError('CC_E_CLI_USAGE', `${OCI_LAYOUT_SCHEME}DIR needs a directory`);
    const registry = new OciLayoutDir(dir);
    return { registry, ref: { url: registry.url, namespace: kDefaultNamespace } };
  }
  const ref = parseRegistry(value);
  return { registry: registryClient(ref, token, onProgress), ref };
}
