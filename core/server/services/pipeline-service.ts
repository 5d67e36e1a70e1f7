import {
  type PipelineRef,
  type PipelineService,
  pipelineConfigConflict,
  pipelineNotFound,
  teamNotFound,
} from '../../api/index.js';
import {
  IMAGE_RESOURCE_TYPES,
  imageSourceSchema,
  isImageResourceType,
  type ResourceTypeSchemas,
  type ValidatePipelineOptions,
  validatePipeline,
} from '../../config/index.js';
import {
  destroyPipeline,
  getPipeline,
  listPipelines,
  type PipelineRow,
  pausePipeline,
  savePipeline,
  unpausePipeline,
} from '../../db/index.js';
import { ConveyorError } from '../../errors/index.js';
import { checkCredentials } from './check-credentials.js';
import type { ApiServicesDeps } from './deps.js';
import { requirePipeline, requireTeam } from './lookups.js';
import { presentPipeline, presentProblem } from './present.js';
import { translating } from './translate-error.js';

/** The name problems are reported against when the client names no file. */
const kConfigFile = 'pipeline.yml';

export function createPipelineService(deps: ApiServicesDeps): PipelineService {
  const { pool } = deps;
  const current = async (ref: PipelineRef): Promise<PipelineRow> => requirePipeline(pool, ref);

  return {
    async list(team) {
      if (team !== undefined) await requireTeam(pool, team);
      const rows = await listPipelines(pool, team === undefined ? {} : { team });
      return rows.map(presentPipeline);
    },

    async get(ref) {
      return presentPipeline(await current(ref));
    },

    async getConfig(ref) {
      const pipeline = await requirePipeline(pool, ref);
      // Every config set through the API keeps its text; an empty one is all there is otherwise.
      return { config: pipeline.config_text ?? '', version: pipeline.config_version };
    },

    async setConfig(ref, input) {
      await requireTeam(pool, ref.team);
      const { model, warnings, varUses } = validatePipeline(
        input.config,
        validationOptions(deps, input.vars),
      );
      if (input.checkCreds) {
        await checkCredentials(varUses, deps.credentialManagers?.(model) ?? [], {
          team: ref.team,
          pipeline: ref.pipeline,
          file: kConfigFile,
        });
      }
      let expectedVersion = input.expectedVersion;
      if (expectedVersion === 0) {
        // Version 0 is "no pipeline yet". savePipeline knows no such version, so a pipeline that
        // exists is refused here and a new one saved unconditionally (racing only a concurrent
        // create of the same name).
        const existing = await getPipeline(pool, ref.team, ref.pipeline);
        if (existing !== null) throw pipelineConfigConflict(ref, 0, existing.config_version);
        expectedVersion = undefined;
      }
      const saved = await translating(
        {
          CC_E_SCHEDULER_TEAM_NOT_FOUND: () => teamNotFound(ref.team),
          CC_E_SCHEDULER_PIPELINE_CONFLICT: (error) =>
            pipelineConfigConflict(ref, input.expectedVersion ?? 0, currentVersionOf(error)),
        },
        () =>
          savePipeline(pool, {
            team: ref.team,
            name: ref.pipeline,
            model,
            configText: input.config,
            expectedVersion,
          }),
      );
      return { created: saved.created, version: saved.version, warnings: warnings.map(presentProblem) };
    },

    async pause(ref, by) {
      const pipeline = await current(ref);
      await translating(notFound(ref), () => pausePipeline(pool, pipeline.id, by));
      return presentPipeline(await current(ref));
    },

    async unpause(ref) {
      const pipeline = await current(ref);
      await translating(notFound(ref), () => unpausePipeline(pool, pipeline.id));
      return presentPipeline(await current(ref));
    },

    async delete(ref) {
      const pipeline = await current(ref);
      if (!(await destroyPipeline(pool, pipeline.id))) throw pipelineNotFound(ref);
    },
  };
}

/** A pipeline deleted between the lookup and the change is reported as missing. */
function notFound(ref: PipelineRef) {
  return { CC_E_SCHEDULER_PIPELINE_NOT_FOUND: () => pipelineNotFound(ref) };
}

/** The version savePipeline found; 0 when the pipeline does not exist (yet, or any more). */
function currentVersionOf(error: ConveyorError): number {
  const current = error.details.current;
  return typeof current === 'number' ? current : 0;
}

/**
 * What the validator knows of the installed resource types: their names (a type that is neither
 * one of them nor one of the pipeline's resource_types is an error) and their schemas.
 */
function validationOptions(
  deps: ApiServicesDeps,
  vars: Readonly<Record<string, unknown>> | undefined,
): ValidatePipelineOptions {
  const installed = deps.plugins
    .list()
    .filter((plugin) => plugin.kind === 'resource-type')
    .map((plugin) => plugin.name);
  return {
    file: kConfigFile,
    ...(vars === undefined ? {} : { vars }),
    knownResourceTypes: [...new Set(installed)],
    // The runtime pulls these images itself (core/config/resource-type-images.ts); a custom
    // resource type's image needs the `concourse` plugin to run it, which the type check asks for.
    imageTypes: IMAGE_RESOURCE_TYPES.filter((type) => !installed.includes(type)),
    resourceTypeSchemas: (type) => resourceTypeSchemas(deps, type, installed),
  };
}

/** The schemas of the plugin a type names (`git`, `git@^2`); none when no installed one fits. */
function resourceTypeSchemas(
  deps: ApiServicesDeps,
  type: string,
  installed: readonly string[],
): ResourceTypeSchemas | undefined {
  const at = type.indexOf('@', 1);
  const name = at > 0 ? type.slice(0, at) : type;
  const range = at > 0 ? type.slice(at + 1) : undefined;
  if (isImageResourceType(name) && !installed.includes(name)) return { source: imageSourceSchema };
  let schemas: ResourceTypeSchemas | undefined;
  try {
    schemas = deps.plugins.resolve(name, range, 'resource-type').manifest.resourceType;
  } catch (error: unknown) {
    // Not installed, or no version in range: the validator reports the type itself (or it is
    // one of the pipeline's own resource_types, which has no schema here).
    if (error instanceof ConveyorError) return undefined;
    throw error;
  }
  if (schemas === undefined) return undefined;
  return {
    ...(schemas.source === undefined ? {} : { source: schemas.source }),
    ...(schemas.getParams === undefined ? {} : { getParams: schemas.getParams }),
    ...(schemas.putParams === undefined ? {} : { putParams: schemas.putParams }),
  };
}
