import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InMemoryApiServices } from '@conveyor/test/harness/api-services.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../src/client/index.js';
import { examplePipelineFile, runExample } from '../src/example/index.js';
import { styleFor } from '../src/output/index.js';
import { adminToken, cc, repoRoot, startApi, type TestApi } from './helpers.js';

describe('the example pipeline', () => {
  it('ships inside the CLI package, and is valid', async () => {
    expect(examplePipelineFile).toBe(join(repoRoot, 'cli/examples/hello.yml'));
    const validated = await cc(['validate-pipeline', '-c', examplePipelineFile]);
    expect(validated).toMatchObject({ code: 0, stdout: 'looks good\n' });
  });

  it('is documented in cc up --help', async () => {
    const { code, stdout } = await cc(['up', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--example');
    expect(stdout).toContain('$ cc up --example');
  });
});

/*
 * What `cc up --example` does once its server runs, driven against the API with the in-memory
 * services: the server `cc up` starts in-process is the real one, which the lead's end-to-end
 * run covers.
 */
describe('runExample', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi({}, { world: new InMemoryApiServices({ newPipelinesPaused: true }) });
  });
  afterAll(async () => {
    await api.close();
  });

  it('sets hello without asking, unpauses it, triggers say-hello and streams its log', async () => {
    const client = new ApiClient({ name: 'local', url: api.url, token: adminToken });
    const lines: string[] = [];
    let log = '';
    const running = runExample({
      client,
      out: (line) => lines.push(line),
      write: (text) => {
        log += text;
      },
      err: (line) => lines.push(`stderr: ${line}`),
      style: styleFor({ isTTY: false }, {}),
    });
    const job = { team: 'main', pipeline: 'hello', job: 'say-hello' };
    // The executor's part: once the build exists, it runs and logs.
    const build = await vi.waitFor(async () => {
      const [first] = (await api.world.services.jobs.listBuilds(job, { limit: 1 })).items;
      if (first === undefined) throw new Error('not triggered yet');
      return first;
    });
    api.world.startBuild(build.id);
    api.world.appendEvent(build.id, {
      event: 'log',
      data: { origin: { id: 'task', source: 'stdout' }, payload: 'Hello from Conveyor!\n', time: 1 },
    });
    api.world.finishBuild(build.id, 'succeeded');

    expect(await running).toEqual({ status: 'succeeded', exitCode: 0 });
    expect(log).toBe('Hello from Conveyor!\nsucceeded\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        `setting the example pipeline hello from ${examplePipelineFile}`,
        'pipeline created!',
        "unpaused 'hello'",
        'started hello/say-hello #1',
        'see it again with: cc watch -j hello/say-hello',
      ]),
    );
    expect(lines.filter((line) => line.startsWith('stderr:'))).toEqual([]);
    expect((await api.world.services.pipelines.get({ team: 'main', pipeline: 'hello' })).paused).toBe(false);
    expect((await api.world.services.pipelines.getConfig({ team: 'main', pipeline: 'hello' })).config).toBe(
      await readFile(examplePipelineFile, 'utf8'),
    );
  });
});
