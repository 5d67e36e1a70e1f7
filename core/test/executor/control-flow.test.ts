import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AcrossStep, HookStep, PlanStep } from '@conveyor/core/plan';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type BuildEvent,
  doStep,
  erroringStep,
  errorsOf,
  finishOf,
  getStep,
  type Harness,
  isRunning,
  leftovers,
  logOf,
  ran,
  readPid,
  runPlan,
  startHarness,
  taskStep,
} from './helpers.js';

let harness: Harness;
let counter = 0;

beforeAll(async () => {
  harness = await startHarness();
});

afterAll(async () => {
  await harness?.close();
});

afterEach(async () => {
  expect(await leftovers(harness)).toEqual({ containers: [], volumes: [] });
});

/** A fresh host path under the scratch directory, for files tasks share with the test. */
const scratchPath = (name: string) => join(harness.scratch, `${name}-${++counter}`);

/** A task that records its pid, says it started, and sleeps until it is killed. */
function sleeper(id: string, pidFile: string, script = 'exec sleep 300'): PlanStep {
  return taskStep(id, `echo $$ > "$PID_FILE"; echo started; ${script}`, { params: { PID_FILE: pidFile } });
}

/** Abort the build once the task `id` says it started. */
function abortWhenStarted(controller: AbortController, id: string) {
  return (event: BuildEvent) => {
    if (event.event === 'log' && event.data.origin.id === id && event.data.payload.includes('started')) {
      controller.abort();
    }
  };
}

const hook = (hookType: HookStep['hook'], step: PlanStep, next: PlanStep): HookStep => ({
  id: `${hookType}-${step.id}`,
  type: 'hook',
  hook: hookType,
  step,
  next,
});

describe('hooks, as Concourse runs them', () => {
  type Kind = 'succeeds' | 'fails' | 'errors';
  const make = (id: string, kind: Kind): PlanStep =>
    kind === 'succeeds' ? taskStep(id, 'true') : kind === 'fails' ? taskStep(id, 'exit 1') : erroringStep(id);

  // [hook, the step, the hook itself, the build's result, whether the hook ran]
  const cases: Array<[HookStep['hook'], Kind, Kind, string, boolean]> = [
    ['on_success', 'succeeds', 'succeeds', 'succeeded', true],
    ['on_success', 'succeeds', 'fails', 'failed', true],
    ['on_success', 'succeeds', 'errors', 'errored', true],
    ['on_success', 'fails', 'succeeds', 'failed', false],
    ['on_success', 'errors', 'succeeds', 'errored', false],
    ['on_failure', 'succeeds', 'succeeds', 'succeeded', false],
    ['on_failure', 'fails', 'succeeds', 'failed', true],
    ['on_failure', 'fails', 'fails', 'failed', true],
    ['on_failure', 'fails', 'errors', 'errored', true],
    ['on_failure', 'errors', 'succeeds', 'errored', false],
    ['on_error', 'succeeds', 'succeeds', 'succeeded', false],
    ['on_error', 'fails', 'succeeds', 'failed', false],
    ['on_error', 'errors', 'succeeds', 'errored', true],
    ['on_error', 'errors', 'fails', 'errored', true],
    ['on_error', 'errors', 'errors', 'errored', true],
    ['on_abort', 'succeeds', 'succeeds', 'succeeded', false],
    ['on_abort', 'fails', 'succeeds', 'failed', false],
    ['on_abort', 'errors', 'succeeds', 'errored', false],
    ['ensure', 'succeeds', 'succeeds', 'succeeded', true],
    ['ensure', 'succeeds', 'fails', 'failed', true],
    ['ensure', 'succeeds', 'errors', 'errored', true],
    ['ensure', 'fails', 'succeeds', 'failed', true],
    ['ensure', 'fails', 'fails', 'failed', true],
    ['ensure', 'errors', 'succeeds', 'errored', true],
    ['ensure', 'errors', 'fails', 'errored', true],
  ];

  it.each(cases)(
    '%s: a step that %s, a hook that %s → %s (hook ran: %s)',
    async (type, step, next, result, hookRan) => {
      const build = await runPlan(harness, hook(type, make('step', step), make('hook', next)));
      expect(build.result).toBe(result);
      expect(ran(build.events, 'hook')).toBe(hookRan);
    },
  );

  it('runs the step after a hook only when the hooked step and its hook succeeded', async () => {
    const build = await runPlan(
      harness,
      doStep(
        'plan',
        hook('on_failure', taskStep('step', 'exit 1'), taskStep('hook', 'true')),
        taskStep('next', 'true'),
      ),
    );
    expect(build.result).toBe('failed');
    expect(ran(build.events, 'hook')).toBe(true);
    expect(ran(build.events, 'next')).toBe(false);
  });
});

describe('try', () => {
  it('swallows a failure and an error, and the build goes on', async () => {
    const build = await runPlan(
      harness,
      doStep(
        'plan',
        { id: 'try-fail', type: 'try', step: taskStep('fails', 'exit 1') },
        { id: 'try-error', type: 'try', step: erroringStep('errors') },
        taskStep('after', 'echo after'),
      ),
    );
    expect(build.result).toBe('succeeded');
    expect(logOf(build.events, 'after')).toBe('after\n');
    expect(errorsOf(build.events, 'errors')).toHaveLength(1);
  });
});

describe('attempts', () => {
  const flaky = (id: string, counterFile: string, succeedOn: number) =>
    taskStep(
      id,
      `n=$(cat "$COUNTER" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$COUNTER"; echo "attempt $n"; test $n -ge ${succeedOn}`,
      { params: { COUNTER: counterFile } },
    );
  const starts = (events: BuildEvent[], id: string) =>
    events.filter((e) => e.event === 'start-task' && e.data.origin?.id === id).length;

  it('retries a failing step until it succeeds', async () => {
    const build = await runPlan(harness, {
      id: 'retry',
      type: 'retry',
      attempts: 5,
      step: flaky('flaky', scratchPath('count'), 3),
    });
    expect(build.result).toBe('succeeded');
    expect(starts(build.events, 'flaky')).toBe(3);
    expect(logOf(build.events, 'flaky')).toBe('attempt 1\nattempt 2\nattempt 3\n');
  });

  it('gives up after the last attempt, failed', async () => {
    const build = await runPlan(harness, {
      id: 'retry',
      type: 'retry',
      attempts: 2,
      step: flaky('flaky', scratchPath('count'), 3),
    });
    expect(build.result).toBe('failed');
    expect(starts(build.events, 'flaky')).toBe(2);
  });

  it('retries an error too, and ends errored', async () => {
    const build = await runPlan(harness, {
      id: 'retry',
      type: 'retry',
      attempts: 3,
      step: getStep('get', 'r', { no_initial_version: true }),
    });
    expect(build.result).toBe('errored');
    expect(errorsOf(build.events, 'get')).toHaveLength(3);
  });

  it("keeps the last attempt's artifacts", async () => {
    const counterFile = scratchPath('count');
    const build = await runPlan(
      harness,
      doStep(
        'plan',
        {
          id: 'retry',
          type: 'retry',
          attempts: 3,
          step: taskStep(
            'make',
            'n=$(cat "$COUNTER" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$COUNTER"; echo "made by attempt $n" > out/file; test $n -ge 2',
            { outputs: [{ name: 'out' }], params: { COUNTER: counterFile } },
          ),
        },
        taskStep('read', 'cat out/file', { inputs: [{ name: 'out' }] }),
      ),
    );
    expect(build.result).toBe('succeeded');
    expect(logOf(build.events, 'read')).toBe('made by attempt 2\n');
  });
});

/**
 * Each task records when it ran, and waits until `together` tasks have started: a runner that
 * ran fewer at once would keep it waiting until its deadline, and fail it.
 */
function concurrencyTask(
  id: string,
  dir: string,
  together: number,
  params: Record<string, unknown> = {},
): PlanStep {
  return taskStep(
    id,
    [
      `touch "$DIR/started-$NAME"`,
      `echo "$(date +%s%N) start" > "$DIR/times-$NAME"`,
      'i=0',
      `until [ "$(ls "$DIR" | grep -c '^started-')" -ge ${together} ]; do i=$((i+1)); [ $i -gt 600 ] && exit 9; sleep 0.05; done`,
      'sleep 0.2',
      `echo "$(date +%s%N) end" >> "$DIR/times-$NAME"`,
    ].join('\n'),
    { params: { DIR: dir, NAME: id, ...params } },
  );
}

/** The most tasks that ran at the same moment, from the times they recorded. */
async function maxConcurrency(dir: string): Promise<{ tasks: number; max: number }> {
  const intervals: Array<[bigint, bigint]> = [];
  for (const name of (await readdir(dir)).filter((n) => n.startsWith('times-'))) {
    const [start, end] = (await readFile(join(dir, name), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => BigInt(line.split(' ')[0]!));
    intervals.push([start!, end!]);
  }
  const max = Math.max(...intervals.map(([at]) => intervals.filter(([s, e]) => s <= at && at <= e).length));
  return { tasks: intervals.length, max };
}

describe('in_parallel', () => {
  it('runs at most `limit` steps at once', async () => {
    const dir = scratchPath('parallel');
    await mkdir(dir);
    const build = await runPlan(harness, {
      id: 'par',
      type: 'in_parallel',
      limit: 1,
      steps: ['a', 'b', 'c'].map((id) => concurrencyTask(id, dir, 1)),
    });
    expect(errorsOf(build.events)).toEqual([]);
    expect(build.result).toBe('succeeded');
    expect(await maxConcurrency(dir)).toEqual({ tasks: 3, max: 1 });
  });

  it('runs them all at once without a limit', async () => {
    const dir = scratchPath('parallel');
    await mkdir(dir);
    // Two, not more: the plugin host runs one call per worker thread (every call is abortable, and
    // piscina gives an abortable call a thread of its own), and the local runtime has two threads.
    const build = await runPlan(harness, {
      id: 'par',
      type: 'in_parallel',
      steps: ['a', 'b'].map((id) => concurrencyTask(id, dir, 2)),
    });
    expect(build.result).toBe('succeeded');
    expect(await maxConcurrency(dir)).toEqual({ tasks: 2, max: 2 });
  });

  it('without fail_fast, lets every step finish and fails if one failed', async () => {
    const build = await runPlan(harness, {
      id: 'par',
      type: 'in_parallel',
      steps: [taskStep('fails', 'exit 1'), taskStep('passes', 'echo done')],
    });
    expect(build.result).toBe('failed');
    expect(logOf(build.events, 'passes')).toBe('done\n');
  });

  it('with fail_fast, interrupts the running steps and starts no more on the first failure', async () => {
    const pidFile = scratchPath('pid');
    const build = await runPlan(harness, {
      id: 'par',
      type: 'in_parallel',
      limit: 2,
      failFast: true,
      steps: [
        sleeper('sleeper', pidFile),
        // Fails once the sleeper is surely running, so its interruption is what is observed.
        taskStep('failer', 'until [ -s "$PID_FILE" ]; do sleep 0.05; done; exit 1', {
          params: { PID_FILE: pidFile },
        }),
        taskStep('never', 'echo should not run'),
      ],
    });
    expect(build.result).toBe('failed');
    expect(isRunning(await readPid(pidFile))).toBe(false);
    expect(errorsOf(build.events, 'sleeper')).toEqual(['interrupted']);
    expect(ran(build.events, 'never')).toBe(false);
  });

  it('errors when a step errors, even if another only failed', async () => {
    const build = await runPlan(harness, {
      id: 'par',
      type: 'in_parallel',
      steps: [taskStep('fails', 'exit 1'), erroringStep('errors')],
    });
    expect(build.result).toBe('errored');
  });
});

const acrossVar = (
  name: string,
  values: unknown,
  maxInFlight?: number | 'all',
): AcrossStep['vars'][number] => ({
  var: name,
  values: values as AcrossStep['vars'][number]['values'],
  ...(maxInFlight !== undefined ? { maxInFlight } : {}),
});

describe('across', () => {
  it('runs the step per combination of values (one from the plan, one from a var), with the values as local vars', async () => {
    const build = await runPlan(
      harness,
      {
        id: 'across',
        type: 'across',
        vars: [acrossVar('x', [1, 2]), acrossVar('y', '((letters))')],
        step: taskStep('echo', 'echo "$X-$Y"', { params: { X: '((.:x))', Y: '((.:y))' } }),
      },
      { creds: { letters: ['p', 'q'] } },
    );
    expect(errorsOf(build.events)).toEqual([]);
    expect(build.result).toBe('succeeded');
    expect([0, 1, 2, 3].map((i) => logOf(build.events, `echo/${i}`))).toEqual([
      '1-p\n',
      '1-q\n',
      '2-p\n',
      '2-q\n',
    ]);
  });

  it('runs max_in_flight combinations at once, one at a time by default', async () => {
    const cases: Array<[number | undefined, string[], number]> = [
      [2, ['a', 'b'], 2],
      [undefined, ['a', 'b', 'c'], 1],
    ];
    for (const [maxInFlight, values, expected] of cases) {
      const dir = scratchPath('across');
      await mkdir(dir);
      const build = await runPlan(harness, {
        id: 'across',
        type: 'across',
        vars: [acrossVar('n', values, maxInFlight)],
        step: concurrencyTask('t', dir, expected, { NAME: '((.:n))' }),
      });
      expect(errorsOf(build.events)).toEqual([]);
      expect(build.result).toBe('succeeded');
      expect(await maxConcurrency(dir)).toEqual({ tasks: values.length, max: expected });
    }
  });

  it('with fail_fast, starts no more combinations after a failure', async () => {
    const step = taskStep('t', 'test "$V" = good', { params: { V: '((.:v))' } });
    const failFast = await runPlan(harness, {
      id: 'across',
      type: 'across',
      failFast: true,
      vars: [acrossVar('v', ['bad', 'good'])],
      step,
    });
    expect(failFast.result).toBe('failed');
    expect(ran(failFast.events, 't/1')).toBe(false);
    const without = await runPlan(harness, {
      id: 'across',
      type: 'across',
      vars: [acrossVar('v', ['bad', 'good'])],
      step,
    });
    expect(without.result).toBe('failed');
    expect(finishOf(without.events, 't/1')).toMatchObject({ succeeded: true });
  });

  it('keeps the artifacts of a combination to it', async () => {
    const build = await runPlan(
      harness,
      doStep(
        'plan',
        {
          id: 'across',
          type: 'across',
          vars: [acrossVar('v', ['one'])],
          step: doStep(
            'inner',
            taskStep('make', 'echo "$V" > out/v', { outputs: [{ name: 'out' }], params: { V: '((.:v))' } }),
            taskStep('use', 'cat out/v', { inputs: [{ name: 'out' }] }),
          ),
        },
        taskStep('outside', 'true', { inputs: [{ name: 'out' }] }),
      ),
    );
    expect(logOf(build.events, 'use/0')).toBe('one\n');
    expect(build.result).toBe('errored');
    expect(errorsOf(build.events, 'outside')[0]).toContain('missing inputs: out');
  });

  it('errors when the values are not a list', async () => {
    const build = await runPlan(
      harness,
      { id: 'across', type: 'across', vars: [acrossVar('v', '((scalar))')], step: taskStep('t', 'true') },
      { creds: { scalar: 'just-a-string' } },
    );
    expect(build.result).toBe('errored');
    expect(errorsOf(build.events, 'across')[0]).toContain('must be a list');
  });
});

describe('timeout', () => {
  it('interrupts the step, kills its process, errors it, and on_error runs', async () => {
    const pidFile = scratchPath('pid');
    const build = await runPlan(
      harness,
      hook(
        'on_error',
        { id: 'timeout', type: 'timeout', durationMs: 2_000, step: sleeper('sleeper', pidFile) },
        taskStep('cleanup', 'echo cleaning up'),
      ),
    );
    expect(build.result).toBe('errored');
    expect(errorsOf(build.events, 'sleeper')).toEqual(['timeout exceeded']);
    expect(isRunning(await readPid(pidFile))).toBe(false);
    expect(logOf(build.events, 'cleanup')).toBe('cleaning up\n');
  });

  it('is swallowed by try, unlike an abort', async () => {
    const build = await runPlan(harness, {
      id: 'try',
      type: 'try',
      step: {
        id: 'timeout',
        type: 'timeout',
        durationMs: 1_000,
        step: sleeper('sleeper', scratchPath('pid')),
      },
    });
    expect(build.result).toBe('succeeded');
  });
});

describe('abort', () => {
  it('kills the running process, runs on_abort and ensure, and ends aborted', async () => {
    const pidFile = scratchPath('pid');
    const controller = new AbortController();
    const build = await runPlan(
      harness,
      hook(
        'ensure',
        doStep(
          'main',
          hook('on_abort', sleeper('sleeper', pidFile), taskStep('on-abort', 'echo abort hook')),
          taskStep('never', 'echo should not run'),
        ),
        taskStep('ensure', 'echo ensure hook'),
      ),
      { signal: controller.signal, onEvent: abortWhenStarted(controller, 'sleeper') },
    );
    expect(build.result).toBe('aborted');
    expect(isRunning(await readPid(pidFile))).toBe(false);
    expect(errorsOf(build.events, 'sleeper')).toEqual(['interrupted']);
    expect(logOf(build.events, 'on-abort')).toBe('abort hook\n');
    expect(logOf(build.events, 'ensure')).toBe('ensure hook\n');
    expect(ran(build.events, 'never')).toBe(false);
  });

  it('kills a process that ignores SIGTERM once the grace period is over', async () => {
    const pidFile = scratchPath('pid');
    const controller = new AbortController();
    const build = await runPlan(
      harness,
      sleeper('stubborn', pidFile, "trap '' TERM; while true; do sleep 0.1; done"),
      {
        signal: controller.signal,
        onEvent: abortWhenStarted(controller, 'stubborn'),
        killGracePeriodMs: 300,
      },
    );
    expect(build.result).toBe('aborted');
    expect(isRunning(await readPid(pidFile))).toBe(false);
  });

  it('is not swallowed by try, nor retried', async () => {
    const controller = new AbortController();
    const build = await runPlan(
      harness,
      doStep(
        'plan',
        {
          id: 'try',
          type: 'try',
          step: { id: 'retry', type: 'retry', attempts: 3, step: sleeper('sleeper', scratchPath('pid')) },
        },
        taskStep('after', 'echo after'),
      ),
      { signal: controller.signal, onEvent: abortWhenStarted(controller, 'sleeper') },
    );
    expect(build.result).toBe('aborted');
    expect(
      build.events.filter((e) => e.event === 'start-task' && e.data.origin?.id === 'sleeper'),
    ).toHaveLength(1);
    expect(ran(build.events, 'after')).toBe(false);
  });

  it('starts nothing when aborted before it begins', async () => {
    const controller = new AbortController();
    controller.abort();
    const build = await runPlan(harness, taskStep('t', 'true'), { signal: controller.signal });
    expect(build.result).toBe('aborted');
    expect(build.events).toEqual([]);
  });
});
