import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { create, extract, list } from 'tar';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminToken, cc, startApi, type TestApi, tempHome } from './helpers.js';

let api: TestApi;
let home: string;
let env: Record<string, string>;
let cleanupHome: () => Promise<void>;

beforeAll(async () => {
  api = await startApi();
  ({ home, cleanup: cleanupHome } = await tempHome());
  env = { CONVEYOR_HOME: home, CONVEYOR_URL: api.url, CONVEYOR_TOKEN: adminToken };
  await api.world.services.pipelines.setConfig(
    { team: 'main', pipeline: 'app' },
    { config: 'jobs:\n  - name: unit\n    plan: []\n', by: 'test' },
  );
});
afterAll(async () => {
  await api.close();
  await cleanupHome();
});
beforeEach(() => {
  api.world.oneOffTask = undefined;
});

async function tarEntries(tar: Buffer): Promise<string[]> {
  const entries: string[] = [];
  await pipeline(Readable.from([tar]), list({ onReadEntry: (entry) => void entries.push(entry.path) }));
  return entries.sort();
}

async function unpack(tar: Buffer): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cc-task-'));
  await pipeline(Readable.from([tar]), extract({ cwd: dir }));
  return dir;
}

async function pack(dir: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of create({ cwd: dir, portable: true }, ['.'])) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

const time = 1;

/** Logs a line of the one-off build's task, as the executor would. */
function log(id: number, text: string): void {
  api.world.appendEvent(id, {
    event: 'log',
    data: { origin: { id: 'task', source: 'stdout' }, payload: text, time },
  });
}

async function writeTask(name: string, task: string): Promise<string> {
  const path = join(home, name);
  await writeFile(path, task);
  return path;
}

describe('cc execute', () => {
  it('uploads the inputs, streams the log, and downloads the outputs the task produced', async () => {
    const work = await mkdtemp(join(home, 'work-'));
    await mkdir(join(work, 'src', 'nested'), { recursive: true });
    await writeFile(join(work, 'src', 'message.txt'), 'hello from the input\n');
    await writeFile(join(work, 'src', 'nested', 'deep.txt'), 'deep\n');
    const task = await writeTask(
      'shout.yml',
      'platform: linux\ninputs:\n  - name: src\noutputs:\n  - name: out\nrun:\n  path: shout\n',
    );
    // The fake task: reads the uploaded input, writes an output from it, logs, succeeds.
    api.world.oneOffTask = async (id) => {
      const input = await unpack(api.world.uploadedInput(id, 'src') ?? Buffer.alloc(0));
      const output = await mkdtemp(join(tmpdir(), 'cc-out-'));
      const message = await readFile(join(input, 'message.txt'), 'utf8');
      await writeFile(join(output, 'shout.txt'), message.toUpperCase());
      await mkdir(join(output, 'sub'));
      await writeFile(join(output, 'sub', 'copy.txt'), await readFile(join(input, 'nested', 'deep.txt')));
      api.world.produceOutput(id, 'out', await pack(output));
      await Promise.all([rm(input, { recursive: true }), rm(output, { recursive: true })]);
      log(id, 'shouting\n');
      api.world.finishBuild(id, 'succeeded');
    };

    const { code, stdout, stderr } = await cc(
      ['execute', '-c', task, '-i', 'src=./src', '-o', 'out=./result'],
      env,
      { cwd: work },
    );
    expect(code, stderr).toBe(0);
    const [first, ...rest] = stdout.split('\n');
    expect(first).toMatch(/^executing build \d+$/);
    expect(rest.join('\n')).toBe('shouting\nsucceeded\n');
    expect(stderr).toBe('uploading src from ./src\ndownloading out to ./result\n');
    expect(await readFile(join(work, 'result', 'shout.txt'), 'utf8')).toBe('HELLO FROM THE INPUT\n');
    expect(await readFile(join(work, 'result', 'sub', 'copy.txt'), 'utf8')).toBe('deep\n');

    const id = Number(first?.split(' ').at(-1));
    expect(await tarEntries(api.world.uploadedInput(id, 'src') ?? Buffer.alloc(0))).toEqual([
      './',
      './message.txt',
      './nested/',
      './nested/deep.txt',
    ]);
    expect(await api.world.services.builds.get(id)).toMatchObject({
      pending_inputs: [],
      created_by: 'admin',
    });
  });

  it('uploads the current directory as the task’s only input, and exits 1 when the task fails', async () => {
    const work = await mkdtemp(join(home, 'only-'));
    await writeFile(join(work, 'a.txt'), 'a');
    const task = await writeTask(
      'only.yml',
      'platform: linux\ninputs:\n  - name: repo\nrun:\n  path: false\n',
    );
    let uploaded: string[] = [];
    api.world.oneOffTask = async (id) => {
      uploaded = await tarEntries(api.world.uploadedInput(id, 'repo') ?? Buffer.alloc(0));
      api.world.finishBuild(id, 'failed');
    };
    const { code, stdout, stderr } = await cc(['execute', '-c', task], env, { cwd: work });
    expect(code).toBe(1);
    expect(stdout).toMatch(/\nfailed\n$/);
    expect(stderr).toBe('uploading repo from .\n');
    expect(uploaded).toEqual(['./', './a.txt']);
  });

  it('takes the inputs not given from the job with -j, and exits 2 for an errored build without its output', async () => {
    const work = await mkdtemp(join(home, 'from-'));
    const task = await writeTask(
      'two.yml',
      'platform: linux\ninputs:\n  - name: repo\n  - name: other\noutputs:\n  - name: out\nrun:\n  path: x\n',
    );
    let other: Buffer | undefined = Buffer.alloc(1);
    api.world.oneOffTask = (id) => {
      other = api.world.uploadedInput(id, 'other');
      api.world.appendEvent(id, { event: 'error', data: { message: 'no space left on device', time } });
      api.world.finishBuild(id, 'errored');
    };
    const { code, stdout, stderr } = await cc(
      ['execute', '-c', task, '-i', 'repo=.', '-j', 'app/unit', '-o', 'out=out'],
      env,
      { cwd: work },
    );
    expect(code).toBe(2);
    expect(other).toBeUndefined();
    expect(stdout).toMatch(/\nno space left on device\nerrored\n$/);
    expect(stderr).toContain('output out was not produced');

    const unknownJob = await cc(['execute', '-c', task, '-i', 'repo=.', '-j', 'app/nope'], env, {
      cwd: work,
    });
    expect(unknownJob.code).toBe(1);
    expect(unknownJob.stderr).toContain('CC_E_API_JOB_NOT_FOUND');
  });

  it('refuses, before creating a build, inputs it cannot resolve or read', async () => {
    const work = await mkdtemp(join(home, 'bad-'));
    const task = await writeTask(
      'pair.yml',
      'platform: linux\ninputs:\n  - name: a\n  - name: b\n  - name: c\n    optional: true\nrun:\n  path: x\n',
    );
    const before = (await api.world.services.builds.list({ limit: 1 })).items[0]?.id;
    const missing = await cc(['execute', '-c', task, '-i', 'a=.'], env, { cwd: work });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing required input `b`');

    const unknown = await cc(['execute', '-c', task, '-i', 'z=.'], env, { cwd: work });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown input `z`: it declares a, b, c');

    const absent = await cc(['execute', '-c', task, '-i', 'a=.', '-i', 'b=./nope'], env, { cwd: work });
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain('input `b`: cannot read ./nope: ENOENT');

    expect((await api.world.services.builds.list({ limit: 1 })).items[0]?.id).toBe(before);
  });
});
