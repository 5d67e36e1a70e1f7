/**
 * @conveyor/plugin-api/testing: the seed of the conformance kit. A plugin author loads their
 * package with loadPluginForTest and calls it as the host would: requests and replies are checked
 * against the plugin API's schemas (and a resource type's own), and streams travel over a real
 * MessageChannel. It depends on no test framework; the conformance suites, which are vitest
 * suites, are in `@conveyor/plugin-api/testing/vitest`.
 */
export { ConformanceError, type ConformanceErrorCode, PluginCallError } from './errors.js';
export { type CallOptions, type CallResult, loadPluginForTest, type PluginUnderTest } from './load-plugin.js';
export type { OutputChunk, OutputStream, TestHostServices } from './streamed-call.js';
export { chunked, type ReadTarEntry, readTar, type TarEntry, tarOf } from './tar.js';
