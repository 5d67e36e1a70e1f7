/**
 * The API's services (core/api/services.ts) over the database, the scheduler, the checker, the
 * pipeline validator, the volume driver and the runtime: what start-server hands to buildApi.
 */
import type { ApiDeps } from '../../api/index.js';
import { createBuildService } from './build-service.js';
import { createContainerService, createVolumeService } from './container-service.js';
import type { ApiServicesDeps } from './deps.js';
import { createInterceptService } from './intercept-service.js';
import { createJobService } from './job-service.js';
import { createOneOffBuildService } from './one-off-build-service.js';
import { createPipelineService } from './pipeline-service.js';
import { createResourceService } from './resource-service.js';

export type { ApiServicesDeps } from './deps.js';

export type ApiServices = Pick<
  ApiDeps,
  'pipelines' | 'jobs' | 'builds' | 'oneOffBuilds' | 'resources' | 'containers' | 'volumes' | 'intercept'
>;

export function createApiServices(deps: ApiServicesDeps): ApiServices {
  return {
    pipelines: createPipelineService(deps),
    jobs: createJobService(deps),
    builds: createBuildService(deps),
    oneOffBuilds: createOneOffBuildService(deps),
    resources: createResourceService(deps),
    containers: createContainerService(deps),
    volumes: createVolumeService(deps),
    intercept: createInterceptService(deps),
  };
}
