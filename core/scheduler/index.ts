/**
 * @conveyor/core/scheduler: which builds to make. Resolves a job's input versions (latest, every,
 * pins, passed constraints), makes pending builds when triggers fire or by hand, and runs the
 * scheduling loop.
 */
export { type Loop, type LoopOptions, startLoop } from './loop.js';
export { type Resolution, type ResolvedInput, resolveInputs } from './resolve-inputs.js';
export {
  type ScheduleOutcome,
  scheduleJob,
  scheduleLockedJob,
  type TriggerOptions,
  triggerJob,
} from './schedule-job.js';
export { type Scheduler, type SchedulerOptions, startScheduler } from './start-scheduler.js';
