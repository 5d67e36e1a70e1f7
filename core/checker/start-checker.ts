import { setTimeout as sleep } from 'node:timers/promises';
import { claimDueChecks, claimResourceCheck, type Pool, type Version } from '../db/index.js';
import { ConveyorError, toError } from '../errors/index.js';
import { startLoop } from '../scheduler/index.js';
import { runCheck } from './run-check.js';
import type { CheckResourceFn, CheckResult } from './types.js';

export interface CheckerOptions {
  pool: Pool;
  /** Names this process on the leases it takes (e.g. `web-1`): unique per process. */
  owner: string;
  checkResource: CheckResourceFn;
  /** Time between looks for due checks. Default 10 s. */
  intervalMs?: number | undefined;
  /** Checks run at once. Default 4. */
  concurrency?: number | undefined;
  /** How long a lease outlives the check's own timeout. Default 60 s. */
  leaseMarginMs?: number | undefined;
  /** Receives failures of the loop itself (a check's failure is the resource's last_check_error). */
  onError?: ((error: Error) => void) | undefined;
}

export interface CheckNowOptions {
  /** Start from this version instead of the newest known one (`cc check-resource --from`). */
  from?: Version | undefined;
  /** Stop waiting (the check may go on); rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** How long to wait for another checker to finish with the resource. Default 5 minutes. */
  waitMs?: number | undefined;
}

export interface Checker {
  /**
   * Checks one resource now (`cc check-resource`), due or not, and resolves when the check is done
   * with its versions or its error. Waits while another checker holds the resource.
   */
  checkNow(resourceId: number, options?: CheckNowOptions): Promise<CheckResult>;
  /** Runs a pass over the due resources now (or waits for the running one). */
  runNow(): Promise<void>;
  /** Stops the loop; checks in flight are aborted and their leases released. */
  stop(): Promise<void>;
}

const kDefaults = { intervalMs: 10_000, concurrency: 4, leaseMarginMs: 60_000 };
/** A pass keeps claiming while it finds work, but no more than this many rounds. */
const ROUNDS_PER_PASS = 10;
const BUSY_POLL_MS = 200;

/**
 * The checker loop (Concourse's lidar): claims due resources, `concurrency` at a time, with FOR
 * UPDATE SKIP LOCKED and a lease, so checkers in several processes never check one resource at
 * once; runs each check through `checkResource` with the resource's timeout; stores the versions
 * in order and records errors and the next due time (`check_every`; `never` only on request).
 */
export function startChecker(options: CheckerOptions): Checker {
  if (typeof options?.owner !== 'string' || options.owner === '') {
    throw new TypeError('options.owner must be a non-empty string');
  }
  if (typeof options.checkResource !== 'function')
    throw new TypeError('options.checkResource must be a function');
  const filled = {
    intervalMs: options.intervalMs ?? kDefaults.intervalMs,
    concurrency: options.concurrency ?? kDefaults.concurrency,
    leaseMarginMs: options.leaseMarginMs ?? kDefaults.leaseMarginMs,
  };
  if (!Number.isInteger(filled.concurrency) || filled.concurrency < 1) {
    throw new TypeError('options.concurrency must be a positive integer');
  }
  const { pool, owner, checkResource } = options;
  const onError = options.onError ?? (() => {});
  const stopping = new AbortController();

  const pass = async () => {
    for (let round = 0; round < ROUNDS_PER_PASS && !stopping.signal.aborted; round++) {
      const claimed = await claimDueChecks(pool, owner, {
        limit: filled.concurrency,
        leaseMarginMs: filled.leaseMarginMs,
      });
      await Promise.all(
        claimed.map((check) =>
          runCheck(pool, owner, check, checkResource, { signal: stopping.signal }).catch((error: unknown) =>
            onError(
              new Error(`${owner}: recording the check of resource ${check.id} failed`, {
                cause: toError(error),
              }),
            ),
          ),
        ),
      );
      if (claimed.length < filled.concurrency) return;
    }
  };
  const loop = startLoop({ intervalMs: filled.intervalMs, tick: pass, onError });

  return {
    async checkNow(resourceId, checkOptions = {}) {
      const deadline = Date.now() + (checkOptions.waitMs ?? 5 * 60_000);
      for (;;) {
        checkOptions.signal?.throwIfAborted();
        const { claimed, exists } = await claimResourceCheck(pool, resourceId, owner, filled.leaseMarginMs);
        if (!exists) {
          throw new ConveyorError(
            'CC_E_SCHEDULER_RESOURCE_NOT_FOUND',
            `resource ${resourceId} does not exist or was removed from its pipeline`,
            { details: { resourceId } },
          );
        }
        if (claimed !== null) {
          return runCheck(pool, owner, claimed, checkResource, {
            from: checkOptions.from,
            signal: stopping.signal,
          });
        }
        if (Date.now() >= deadline) {
          throw new ConveyorError(
            'CC_E_SCHEDULER_CHECK_BUSY',
            `resource ${resourceId} is still being checked by another Conveyor process; try again later`,
            { details: { resourceId } },
          );
        }
        await sleep(BUSY_POLL_MS, undefined, { signal: checkOptions.signal });
      }
    },
    runNow: () => loop.runNow(),
    async stop() {
      stopping.abort();
      await loop.stop();
    },
  };
}
