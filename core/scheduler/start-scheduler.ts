import { claimJobToSchedule, type Pool, recoverInterruptedBuilds, withTransaction } from '../db/index.js';
import { toError } from '../errors/index.js';
import { type Loop, startLoop } from './loop.js';
import { type ScheduleOutcome, scheduleLockedJob } from './schedule-job.js';

export interface SchedulerOptions {
  pool: Pool;
  /** Names this process in reports (e.g. `web-1`). */
  owner: string;
  /** Time between passes. Default 10 s. */
  intervalMs?: number | undefined;
  /** Most jobs one pass schedules (the rest wait for the next). Default 200. */
  jobsPerPass?: number | undefined;
  /** Each pass also marks errored the started builds whose lease expired. Default true. */
  recoverBuilds?: boolean | undefined;
  /** Receives failures of single jobs and of whole passes. Default: ignored. */
  onError?: ((error: Error) => void) | undefined;
  /** Receives what each scheduled job came to (for logs and metrics). */
  onScheduled?: ((jobId: number, outcome: ScheduleOutcome) => void) | undefined;
}

export interface Scheduler {
  /** Runs a pass now (or waits for the running one). */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

const kDefaults = { intervalMs: 10_000, jobsPerPass: 200, recoverBuilds: true };

/**
 * The scheduler loop. Each pass takes the jobs asked to be scheduled (new versions, finished
 * builds, config changes, unpauses), oldest request first, each in a transaction of its own that
 * locks the job row with SKIP LOCKED, so schedulers in several processes share the work; and it
 * recovers builds whose executor stopped.
 */
export function startScheduler(options: SchedulerOptions): Scheduler {
  if (typeof options?.owner !== 'string' || options.owner === '') {
    throw new TypeError('options.owner must be a non-empty string');
  }
  const filled = { ...kDefaults, ...withoutUndefined(options) };
  const onError = options.onError ?? (() => {});

  const pass = async () => {
    if (filled.recoverBuilds) await recoverInterruptedBuilds(options.pool);
    const tried: number[] = [];
    while (tried.length < filled.jobsPerPass) {
      let jobId: number | null = null;
      try {
        const result = await withTransaction(options.pool, async (client) => {
          const job = await claimJobToSchedule(client, tried);
          if (job === null) return null;
          jobId = job.id;
          tried.push(job.id);
          return { jobId: job.id, outcome: await scheduleLockedJob(client, job) };
        });
        if (result === null) return;
        options.onScheduled?.(result.jobId, result.outcome);
      } catch (error: unknown) {
        // The job's request stays pending (the transaction rolled back): the next pass retries it.
        onError(
          new Error(`${options.owner}: scheduling job ${jobId ?? '?'} failed`, { cause: toError(error) }),
        );
        if (jobId === null) return;
      }
    }
  };

  const loop: Loop = startLoop({ intervalMs: filled.intervalMs, tick: pass, onError });
  return { runNow: () => loop.runNow(), stop: () => loop.stop() };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
