/**
 * @conveyor/core/plan: a job's plan compiled into the build plan (a tree of steps with unique
 * ids) that the executor walks, and the build plan's types, generated from its schema.
 */
export type {
  AcrossStep,
  BuildPlan,
  DoStep,
  GetStep,
  HookStep,
  InParallelStep,
  LoadVarStep,
  PlanStep,
  PutStep,
  ResourceTypeRef,
  RetryStep,
  SetPipelineStep,
  TaskStep,
  TimeoutStep,
  TryStep,
  Version,
} from './build-plan.generated.js';
export { type CompileJobPlanOptions, compileJobPlan } from './compile-job-plan.js';
export { planStepChildren } from './plan-children.js';
