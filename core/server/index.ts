/** @conveyor/core/server: starts the whole core in-process (what `cc up` runs). */

export { pipelineCredentialManagers } from './configured-plugins.js';
export { type ApiServices, type ApiServicesDeps, createApiServices } from './services/index.js';
export { type RunningServer, type StartServerOptions, startServer } from './start-server.js';
export { coreVersion } from './version.js';
