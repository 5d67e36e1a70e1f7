import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuildEvent, type Harness, logOf, runPlan, startHarness, taskStep } from './helpers.js';

let harness: Harness;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness?.close();
});

describe('events are stored in batches', () => {
  it('writes the events made while a write is in flight together, in order, and none twice', async () => {
    const batches: BuildEvent[][] = [];
    let slowed = false;
    const build = await runPlan(
      harness,
      taskStep('chatty', 'for i in 1 2 3 4 5; do echo "line $i"; sleep 0.05; done'),
      {
        deps: {
          emitBatch: async (events) => {
            batches.push(events);
            // The first write of log output is slow: what the task prints meanwhile must wait
            // and come in one batch.
            if (!slowed && events.some((event) => event.event === 'log')) {
              slowed = true;
              await new Promise((resolve) => setTimeout(resolve, 2_000));
            }
          },
        },
      },
    );
    const stored = batches.flat();
    expect(build.result, JSON.stringify(stored.filter((e) => e.event === 'error'))).toBe('succeeded');
    expect(batches.some((batch) => batch.length > 1)).toBe(true);
    expect(batches.length).toBeLessThan(stored.length);
    const lines = logOf(stored, 'chatty').trim().split('\n');
    expect(lines).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
    expect(stored.at(-1)?.event).toBe('finish-task');
  });

  it('fails the build with CC_E_EXEC_EVENT_FAILED when a batch cannot be stored', async () => {
    const build = await runPlan(harness, taskStep('lost', 'echo hi'), {
      deps: {
        emitBatch: async () => {
          throw new Error('the database went away');
        },
      },
    });
    expect(build.result).toBe('errored');
  });
});
