/**
 * @conveyor/core/checker: periodic resource checks. Claims due resources with leases, runs their
 * checks through a callback (the composition root calls the resource-type plugin), stores the
 * versions in order and asks the scheduler to look at the jobs they trigger.
 */
export { runCheck } from './run-check.js';
export { type Checker, type CheckerOptions, type CheckNowOptions, startChecker } from './start-checker.js';
export type { CheckContext, CheckResourceFn, CheckResult, ResourceToCheck } from './types.js';
