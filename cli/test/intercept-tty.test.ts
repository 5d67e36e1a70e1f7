import { execFileSync, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Container, InterceptRequest } from '@conveyor/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminToken, repoRoot, startApi, type TestApi, tempHome } from './helpers.js';

/*
 * cc intercept's terminal handling, in a real pseudo-terminal made by util-linux `script`: raw
 * mode (a key reaches the process without Enter), the start size and SIGWINCH resizes, and the
 * terminal put back as it was. The in-memory world stands in for a runtime with terminals.
 */

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const available = hasScript();
if (!available) {
  const message = 'util-linux `script` is not installed: the terminal tests of cc intercept cannot run';
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`SKIPPING: ${message}`);
}

let api: TestApi;
let home: string;
let cleanupHome: () => Promise<void>;

beforeAll(async () => {
  api = await startApi();
  ({ home, cleanup: cleanupHome } = await tempHome());
  await api.world.services.pipelines.setConfig(
    { team: 'main', pipeline: 'app' },
    { config: 'jobs:\n  - name: unit\n    plan: []\n', by: 'test' },
  );
  const build = api.world.createJobBuild({ team: 'main', pipeline: 'app', job: 'unit' });
  api.world.startBuild(build.id);
  const container: Container = {
    handle: 'b1-c-tty',
    worker_name: 'w',
    runtime: 'containerd',
    state: 'created',
    team_name: 'main',
    build_id: build.id,
    build_name: '1',
    pipeline_name: 'app',
    job_name: 'unit',
    step_name: 'shell',
    type: 'task',
    created_at: 0,
  };
  api.world.addContainer(container);
});
afterAll(async () => {
  await api?.close();
  await cleanupHome?.();
});

describe.skipIf(!available)('cc intercept with a terminal', () => {
  it('sends keys raw and resizes as they happen, and restores the terminal', async () => {
    const ttyFile = join(home, 'tty-name');
    let seen: InterceptRequest | undefined;
    api.world.interceptTty = true;
    api.world.interceptProcess = async (_container, request, io) => {
      seen = request;
      for await (const item of io.input) {
        if (!(item instanceof Uint8Array)) {
          // stty may set the columns and the rows one after the other: wait for both.
          io.onOutput('stdout', `resized ${item.columns}x${item.rows}\r\n`);
          if (item.columns === 120 && item.rows === 40) break;
          continue;
        }
        // A key without Enter arrived: the terminal is raw. Resize it as a window manager would.
        io.onOutput('stdout', `got ${Buffer.from(item).toString()}\r\n`);
        const pts = (await readFile(ttyFile, 'utf8')).trim();
        execFileSync('stty', ['-F', pts, 'cols', '120', 'rows', '40']);
      }
      return { exitStatus: 7 };
    };

    const cc = `node ${JSON.stringify(join(repoRoot, 'cli/bin/run.js'))} intercept -j app/unit -- sh`;
    const inner = `tty > ${JSON.stringify(ttyFile)}; stty cols 100 rows 30; ${cc}; echo "exit=$?"; stty -a`;
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CONVEYOR_')));
    const child = spawn('script', ['-qefc', inner, '/dev/null'], {
      env: {
        ...base,
        NO_COLOR: '1',
        TERM: 'xterm',
        CONVEYOR_HOME: home,
        CONVEYOR_URL: api.url,
        CONVEYOR_TOKEN: adminToken,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    // One key, no Enter: it reaches the process only through a raw terminal.
    const typed = setInterval(() => {
      if (seen !== undefined) {
        child.stdin.write('x');
        clearInterval(typed);
      }
    }, 20);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(typed);
    child.stdin.destroy();

    expect(output).toContain('got x');
    expect(output).toContain('resized 120x40');
    expect(output).toContain('exit=7');
    expect(seen).toMatchObject({
      tty: true,
      ttySize: { columns: 100, rows: 30 },
      term: 'xterm',
      command: ['sh'],
    });
    // Cooked again after the session: canonical mode and echo are back on.
    const settings = output.slice(output.indexOf('exit=7'));
    expect(settings).toMatch(/(^|\s)icanon(\s|$)/m);
    expect(settings).toMatch(/(^|\s)echo(\s|$)/m);
    expect(code).toBe(0);
  });
});
