import { ConveyorError } from '../../errors/index.js';
import type { PipelineModel } from '../pipeline-model.js';
import { closestKey } from '../problems.js';
import { derivePipelineModel } from './derive.js';
import {
  describeValue,
  Findings,
  isRecord,
  type PipelineProblem,
  placeFindings,
  renderPipelineProblem,
} from './findings.js';
import { dropNullFields } from './normalize.js';
import { parsePipelineYaml } from './parse.js';
import { checkResourceSchemas, type ResourceTypeSchemaLookup } from './resource-schemas.js';
import { pipelineSchema } from './schema.js';
import { checkSemantics, type KnownResourceTypes } from './semantics.js';
import { applyStaticVars } from './static-vars.js';
import { checkStructure } from './structure.js';
import { findVarUses, type PipelineVarUse } from './var-uses.js';

export interface ValidatePipelineOptions {
  /** The file name problems are reported against. */
  file: string;
  /** Static vars (`-v k=v`, `-l vars.yml`), applied before validation as fly does. */
  vars?: Readonly<Record<string, unknown>>;
  /** The schemas of resource type plugins, by the type a pipeline names (from the plugin host). */
  resourceTypeSchemas?: ResourceTypeSchemaLookup;
  /**
   * The resource type plugins that exist; with it, a type that is neither one of these nor one
   * of the pipeline's resource_types is an error. Without it, types are not checked.
   */
  knownResourceTypes?: KnownResourceTypes;
  /**
   * Types that name an image (registry-image, docker-image): accepted as a pipeline resource
   * type's `type` and a task's `image_resource.type` even with no plugin of that name.
   */
  imageTypes?: readonly string[];
}

export interface ValidatedPipeline {
  model: PipelineModel;
  /** What was accepted but deserves a look (dropped top-level keys, odd names, ignored limits). */
  warnings: PipelineProblem[];
  /** The configuration after static vars, as it is stored and as later steps read it. */
  config: Record<string, unknown>;
  /** The `((vars))` left for builds to resolve (credentials, var sources, local vars), in file order. */
  varUses: PipelineVarUse[];
}

/** Top-level keys Concourse reads; it drops any other (they often only hold YAML anchors). */
const topLevelKeys = Object.keys(pipelineSchema.properties ?? {});

/**
 * Validate a pipeline in Concourse's format and derive its model. Every problem is reported at
 * once, each at file:line:column with its field path; when any is an error, this throws
 * CC_E_PIPELINE_INVALID with `details.problems` (errors and warnings, in file order).
 */
export function validatePipeline(text: string, options: ValidatePipelineOptions): ValidatedPipeline {
  const { file } = options;
  const { source, value } = parsePipelineYaml(text, file);
  if (source.problems.length > 0) {
    const problems = source.problems.map(
      (problem): PipelineProblem => ({
        file,
        line: problem.line,
        column: problem.column,
        path: '',
        message: `is not valid YAML: ${problem.message.split('\n')[0] ?? problem.code}`,
        severity: 'error',
      }),
    );
    throw invalid(file, problems);
  }

  const findings = new Findings();
  let doc: Record<string, unknown>;
  if (value === null || value === undefined) {
    doc = {};
  } else if (!isRecord(value)) {
    findings.error(
      [],
      `must be a mapping with \`jobs\`, \`resources\` and the like, not ${describeValue(value)}`,
    );
    throw invalid(file, placeFindings(findings.list, source, file));
  } else {
    const interpolated = applyStaticVars(value, options.vars ?? {});
    findings.push(...interpolated.findings);
    doc = structuredClone(interpolated.value) as Record<string, unknown>;
  }

  for (const key of Object.keys(doc)) {
    if (topLevelKeys.includes(key)) continue;
    const suggestion = closestKey(key, topLevelKeys);
    findings.warn(
      [key],
      `is not a pipeline field, so it is dropped, as Concourse drops it${suggestion ? `; did you mean \`${suggestion}\`?` : ''}`,
      { target: 'key', ...(suggestion ? { suggestion } : {}) },
    );
    delete doc[key];
  }
  dropNullFields(doc);
  checkStructure(doc, findings);
  checkSemantics(
    doc,
    findings,
    options.knownResourceTypes === undefined
      ? {}
      : { knownResourceTypes: options.knownResourceTypes, imageTypes: options.imageTypes ?? [] },
  );
  if (options.resourceTypeSchemas) checkResourceSchemas(doc, options.resourceTypeSchemas, findings);

  const problems = placeFindings(findings.list, source, file);
  if (findings.hasErrors) throw invalid(file, problems);
  return {
    model: derivePipelineModel(doc),
    warnings: problems,
    config: doc,
    varUses: findVarUses(doc, source, file),
  };
}

function invalid(file: string, problems: PipelineProblem[]): ConveyorError {
  const errors = problems.filter((problem) => problem.severity === 'error');
  const count = errors.length === 1 ? '1 error' : `${errors.length} errors`;
  return new ConveyorError(
    'CC_E_PIPELINE_INVALID',
    `Pipeline ${file} is invalid (${count}):\n${problems.map((problem) => `  ${renderPipelineProblem(problem)}`).join('\n')}`,
    { details: { file, problems } },
  );
}
