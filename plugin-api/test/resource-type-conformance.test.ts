/** The resource type conformance suite, run against the mock resource the repository ships. */
import { fileURLToPath } from 'node:url';
import { resourceTypeConformance } from '@conveyor/plugin-api/testing/vitest';

resourceTypeConformance({
  name: 'mock resource type',
  packageDir: fileURLToPath(new URL('../../plugins/resource-mock/', import.meta.url)),
  source: { initial_version: 'v1', create_files: { 'hello.txt': 'hello' } },
  invalidSource: { initial_version: 42 },
  putParams: { version: 'v2' },
});
