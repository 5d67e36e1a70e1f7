import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VolumeRef } from '../../generated/common.generated.js';
import { createAjv } from '../../schemas.js';
import { loadPluginForTest, type PluginUnderTest } from '../load-plugin.js';

type Version = Record<string, string>;

export interface ResourceTypeConformanceOptions {
  /** The suite's name, e.g. `mock resource type`. */
  name: string;
  /** The plugin package's directory, which holds conveyor-plugin.json. */
  packageDir: string;
  /** The plugin's configuration, when its configSchema asks for one. */
  config?: Record<string, unknown>;
  /** A source for which check finds at least one version without the outside world. */
  source: Record<string, unknown>;
  /** A source its schema refuses, e.g. one with a misspelt or mistyped key. */
  invalidSource: Record<string, unknown>;
  /** Params for the get; none by default. */
  getParams?: Record<string, unknown>;
  /** Params for a put that succeeds on an empty directory. */
  putParams: Record<string, unknown>;
  /** Skip the whole suite, for this reason. */
  skip?: string | undefined;
}

/**
 * Declares a vitest suite that proves a resource type keeps the resource contract as the core
 * uses it: its schemas compile, check answers versions oldest first and, from a given version,
 * that version and the newer ones; get writes into the volume's host path and answers the version
 * it fetched; put answers a version; and a source its schema refuses never reaches the plugin.
 * Every request and reply is also checked against the plugin API's schemas and the manifest's.
 *
 * ```ts
 * resourceTypeConformance({
 *   name: 'hello resource type',
 *   packageDir: fileURLToPath(new URL('..', import.meta.url)),
 *   source: { message: 'hi', count: 3 },
 *   invalidSource: { mesage: 'hi' },
 *   putParams: { version: '4' },
 * });
 * ```
 */
export function resourceTypeConformance(options: ResourceTypeConformanceOptions): void {
  describe.skipIf(options.skip !== undefined)(`${options.name} conformance`, () => {
    let plugin: PluginUnderTest<'resource-type'>;
    let scratch: string;
    let counter = 0;

    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'resource-conformance-'));
      plugin = await loadPluginForTest<'resource-type'>(options.packageDir, options.config ?? {});
    });

    afterAll(async () => {
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    async function directory(): Promise<{ ref: VolumeRef; path: string }> {
      const path = join(scratch, `volume-${++counter}`);
      await mkdir(path);
      return {
        ref: { handle: `conformance-${counter}`, driver: 'naive', location: { type: 'host-path', path } },
        path,
      };
    }

    async function check(version?: Version): Promise<Version[]> {
      const request = version ? { source: options.source, version } : { source: options.source };
      const { value } = await plugin.call('check', request);
      return value.versions as Version[];
    }

    it('declares source, params and version schemas that compile', () => {
      const declared = plugin.manifest.resourceType;
      expect(declared, 'conveyor-plugin.json needs a resourceType section').toBeDefined();
      const ajv = createAjv();
      for (const part of ['source', 'getParams', 'putParams', 'version'] as const) {
        const schema = declared?.[part];
        expect(schema, `resourceType.${part} is missing`).toBeDefined();
        expect(() => ajv.compile(schema as object), `resourceType.${part} does not compile`).not.toThrow();
      }
    });

    it('refuses a source that breaks its schema before the plugin sees it', async () => {
      await expect(plugin.call('check', { source: options.invalidSource })).rejects.toMatchObject({
        code: 'CONFORMANCE_BAD_REQUEST',
      });
    });

    it('checks versions oldest first, and from a given version on', async () => {
      const all = await check();
      expect(all.length, 'check with no version must find at least one for the given source').toBeGreaterThan(
        0,
      );
      expect(await check(), 'check must answer the same versions twice').toEqual(all);
      for (let i = 0; i < all.length; i++) {
        expect(await check(all[i]), `check from ${JSON.stringify(all[i])}`).toEqual(all.slice(i));
      }
    });

    it('gets a version into the volume and answers it', async () => {
      const all = await check();
      const latest = all[all.length - 1] as Version;
      const { ref, path } = await directory();
      const request = {
        source: options.source,
        version: latest,
        directory: ref,
        params: options.getParams ?? {},
      };
      const { value } = await plugin.call('get', request);
      expect(value.version).toEqual(latest);
      expect(await readdir(path), 'get must write what it fetched into the volume').not.toEqual([]);
    });

    it('puts and answers the version it made', async () => {
      const { ref } = await directory();
      const { value } = await plugin.call('put', {
        source: options.source,
        directory: ref,
        params: options.putParams,
      });
      expect(Object.keys(value.version as Version).length).toBeGreaterThan(0);
    });
  });
}
