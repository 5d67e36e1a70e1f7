// Time from triggering a job to the first log line of its trivial task (local runtime, naive
// volumes), read from the build's event stream, next to spawning the same command directly and
// reading its first line of output, in the same run.
import { spawn } from 'node:child_process';
import { benchServer } from './server-harness.mjs';
import { fmt, ratio, sample, summarise } from './stats.mjs';

const N = 30;

function spawnFirstLine() {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', 'echo hello'], { stdio: ['ignore', 'pipe', 'ignore'] });
    child.stdout.once('data', () => resolve());
    child.once('error', reject);
  });
}

async function firstLogLine(url, headers, buildId) {
  const controller = new AbortController();
  const response = await fetch(`${url}/api/v1/builds/${buildId}/events`, {
    headers,
    signal: controller.signal,
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error('the event stream ended without a log line');
      text += decoder.decode(value, { stream: true });
      if (text.includes('"event":"log"')) return;
    }
  } finally {
    controller.abort();
  }
}

export default async function run() {
  const { server, api, headers, close } = await benchServer();
  await api('PUT', '/teams/main/pipelines/bench/config', {
    config: `jobs:
  - name: hello
    plan:
      - task: say
        config:
          platform: linux
          run: { path: sh, args: [-c, 'echo hello'] }
`,
  });
  await api('PUT', '/teams/main/pipelines/bench/unpause');
  const trigger = async () => {
    const build = await api('POST', '/teams/main/pipelines/bench/jobs/hello/builds');
    await firstLogLine(server.url, headers, build.id);
  };
  await sample(3, trigger);
  const ours = summarise(await sample(N, trigger));
  await sample(5, spawnFirstLine);
  const raw = summarise(await sample(N, spawnFirstLine));
  await close();
  return {
    title: `Trigger to first log line of a trivial task (${N} builds, one at a time)`,
    columns: ['what', 'median', 'p99', 'median vs raw'],
    rows: [
      ['spawn `sh -c "echo hello"`, first stdout chunk', fmt(raw.median), fmt(raw.p99), '1.00×'],
      [
        'cc trigger-job → first `log` event on the SSE stream',
        fmt(ours.median),
        fmt(ours.p99),
        ratio(ours.median, raw.median),
      ],
    ],
    ratio: ours.median / raw.median,
  };
}
