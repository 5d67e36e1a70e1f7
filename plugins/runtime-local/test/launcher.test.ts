import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { processRuns } from '@conveyor/test/harness/processes.js';
import { afterEach, describe, expect, it } from 'vitest';

// The launcher as the runtime's worker starts it, spoken to in its own message protocol.
const script = fileURLToPath(new URL('../dist/launcher-process.js', import.meta.url));
const started: number[] = [];

afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Gone already, as it should be.
    }
  }
});

async function launchSleep(launcher: ReturnType<typeof fork>, id: number): Promise<number> {
  launcher.send({
    type: 'spawn',
    id,
    path: 'sleep',
    args: ['30'],
    cwd: '/',
    env: { PATH: process.env.PATH },
    stdin: false,
  });
  for (;;) {
    const [message] = (await once(launcher, 'message')) as [{ type: string; id: number; pid: number }];
    if (message.type === 'spawned' && message.id === id) {
      started.push(message.pid);
      return message.pid;
    }
  }
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
}

describe('the launcher process', () => {
  it('kills what the runtime had not recorded yet when its worker goes, and leaves what it had', async () => {
    const launcher = fork(script, [], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    const unrecorded = await launchSleep(launcher, 1);
    const recorded = await launchSleep(launcher, 2);
    launcher.send({ type: 'adopted', id: 2 });
    // The worker's side of the channel closes, as when the server is killed.
    await new Promise((resolve) => setTimeout(resolve, 50));
    launcher.disconnect();
    await once(launcher, 'exit');
    await until(() => !processRuns(unrecorded));
    expect(processRuns(unrecorded)).toBe(false);
    expect(processRuns(recorded)).toBe(true);
  });

  it('reports output, then the exit status, of each process it starts', async () => {
    const launcher = fork(script, [], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
    const messages: Array<{ type: string; chunk?: Uint8Array; code?: number }> = [];
    launcher.on('message', (message: { type: string }) => messages.push(message));
    launcher.send({
      type: 'spawn',
      id: 7,
      path: 'sh',
      args: ['-c', 'echo out; echo err >&2; exit 3'],
      cwd: '/',
      env: { PATH: process.env.PATH },
      stdin: false,
    });
    await until(() => messages.some((m) => m.type === 'exit'));
    launcher.disconnect();
    const output = messages
      .filter((m) => m.type === 'output')
      .map((m) => Buffer.from(m.chunk as Uint8Array).toString())
      .sort();
    expect(output).toEqual(['err\n', 'out\n']);
    expect(messages.at(-1)).toMatchObject({ type: 'exit', id: 7, code: 3 });
  });
});
