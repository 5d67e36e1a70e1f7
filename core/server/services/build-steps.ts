import type { JobModel, PipelineModel } from '../../config/index.js';
import { getBuilds, loadBuildContexts, type Queryable } from '../../db/index.js';
import { type BuildPlan, compileJobPlan, type PlanStep, planStepChildren } from '../../plan/index.js';

/** A step of a build's plan as people name it. */
export interface StepInfo {
  /** The task's, get's or put's name; absent for steps without one (do, try, ...). */
  name?: string;
  /** The step type: `task`, `get`, `put`, ... */
  type: string;
}

/** Each build's steps by plan id. */
export type BuildSteps = Map<number, Map<string, StepInfo>>;

/**
 * The steps of builds' plans, to name what a container or volume was made for: a one-off build
 * keeps its plan; a job build's is compiled again from the job's config, as the build runner
 * compiled it (plan ids are positions in the config, so a config changed since may name steps
 * differently; a build whose job is gone gets none).
 */
export async function loadBuildSteps(db: Queryable, buildIds: readonly number[]): Promise<BuildSteps> {
  const steps: BuildSteps = new Map();
  if (buildIds.length === 0) return steps;
  const builds = await getBuilds(db, buildIds);
  const jobBuilds = builds.filter((build) => build.job_id !== null).map((build) => build.id);
  const contexts = await loadBuildContexts(db, jobBuilds);
  for (const build of builds) {
    let plan: BuildPlan | undefined;
    if (build.job_id === null) {
      plan = isPlan(build.plan) ? build.plan : undefined;
    } else {
      const context = contexts.get(build.id);
      plan = context ? compiled(context.job_config, context.pipeline_config, context.inputs) : undefined;
    }
    if (plan) steps.set(build.id, stepsOf(plan.root));
  }
  return steps;
}

/** The step a plan id names; an `across` copy (`7/2`) is its template's step (`7`). */
export function stepOf(steps: BuildSteps, buildId: number, planId: string | undefined): StepInfo | undefined {
  if (planId === undefined) return undefined;
  const ofBuild = steps.get(buildId);
  return ofBuild?.get(planId) ?? ofBuild?.get(planId.split('/', 1)[0] ?? planId);
}

function compiled(
  job: unknown,
  pipeline: unknown,
  inputs: Array<{ name: string; version: Record<string, string> }>,
): BuildPlan | undefined {
  if (job === null || pipeline === null) return undefined;
  try {
    return compileJobPlan(job as JobModel, {
      pipeline: pipeline as PipelineModel,
      inputVersions: Object.fromEntries(inputs.map((input) => [input.name, input.version])),
    });
  } catch {
    // A config the compiler no longer takes: the listing goes on without step names.
    return undefined;
  }
}

function isPlan(value: unknown): value is BuildPlan {
  return typeof value === 'object' && value !== null && 'root' in value;
}

function stepsOf(root: PlanStep): Map<string, StepInfo> {
  const steps = new Map<string, StepInfo>();
  const visit = (step: PlanStep) => {
    const name = 'name' in step && typeof step.name === 'string' ? step.name : undefined;
    steps.set(step.id, name === undefined ? { type: step.type } : { name, type: step.type });
    for (const child of planStepChildren(step)) visit(child);
  };
  visit(root);
  return steps;
}
