import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InMemoryApiServices } from '@conveyor/test/harness/api-services.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminToken, cc, startApi, startCc, type TestApi, tempHome } from './helpers.js';

const v1 = `resources:
  - name: repo
    type: mock
    source:
      initial_version: v1
jobs:
  - name: unit
    plan:
      - get: repo
        trigger: true
      - task: test
        config:
          platform: linux
          run:
            path: echo
            args: [hi]
`;

// v1 with a resource added and the task's args changed.
const v2 = `resources:
  - name: repo
    type: mock
    source:
      initial_version: v1
  - name: other
    type: mock
jobs:
  - name: unit
    plan:
      - get: repo
        trigger: true
      - task: test
        config:
          platform: linux
          run:
            path: echo
            args: [hello]
`;

let api: TestApi;
let home: string;
let cleanup: () => Promise<void>;
let env: Record<string, string>;

beforeAll(async () => {
  api = await startApi({}, { world: new InMemoryApiServices({ newPipelinesPaused: true }) });
});
afterAll(async () => {
  await api.close();
});
beforeEach(async () => {
  ({ home, cleanup } = await tempHome());
  env = { CONVEYOR_HOME: home, CONVEYOR_URL: api.url, CONVEYOR_TOKEN: adminToken };
});
afterEach(async () => {
  for (const pipeline of await api.world.services.pipelines.list('main')) {
    await api.world.services.pipelines.delete({ team: 'main', pipeline: pipeline.name });
  }
  await cleanup();
});

async function file(name: string, text: string): Promise<string> {
  const path = join(home, name);
  await writeFile(path, text);
  return path;
}

async function storedConfig(pipeline: string): Promise<{ config: string; version: number }> {
  return api.world.services.pipelines.getConfig({ team: 'main', pipeline });
}

async function setDirectly(pipeline: string, config: string): Promise<void> {
  await api.world.services.pipelines.setConfig({ team: 'main', pipeline }, { config, by: 'someone-else' });
}

describe('cc set-pipeline', () => {
  it('creates a pipeline without asking with -n, shows it all as added, and says how to unpause it', async () => {
    const config = await file('pipeline.yml', v1);
    const { code, stdout, stderr } = await cc(['set-pipeline', '-p', 'app', '-c', config, '-n'], env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'resources:',
        '  resource repo has been added:',
        '+ name: repo',
        '+ type: mock',
        'jobs:',
        '  job unit has been added:',
        '+ name: unit',
        'pipeline name: app',
        'pipeline created!',
        'the pipeline is currently paused. to unpause it, run:',
        '  cc unpause-pipeline -p app',
      ]),
    );
    expect(stdout).not.toContain('apply configuration?');
    expect(await storedConfig('app')).toEqual({ config: v1, version: 1 });
    // A new pipeline is set only if it still does not exist: expected version 0.
    expect(api.world.setConfigCalls.at(-1)).toMatchObject({ config: v1, expectedVersion: 0 });
  });

  it('merges static vars as fly does: later files win, flags win over files, -y over -v', async () => {
    const config = await file('pipeline.yml', v1);
    const first = await file('first.yml', 'a: first\nb: first\nc: first\n');
    const second = await file('second.yml', 'b: second\nc: second\n');
    const { code, stderr } = await cc(
      [
        ...['set-pipeline', '-p', 'app', '-c', config, '-n'],
        ...['-l', first, '-l', second, '-v', 'c=flag', '-v', 'count=1', '-y', 'count=3'],
        ...['-v', 'repo.branch=main', '-y', 'list=[1, two]'],
      ],
      env,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(api.world.setConfigCalls.at(-1)?.vars).toEqual({
      a: 'first',
      b: 'second',
      c: 'flag',
      count: 3,
      repo: { branch: 'main' },
      list: [1, 'two'],
    });
  });

  it('shows a diff of what changed per resource and job, asks, and applies on "y"', async () => {
    await setDirectly('app', v1);
    const config = await file('pipeline.yml', v2);
    const { code, stdout, stderr } = await cc(
      ['set-pipeline', '-p', 'app', '-c', config],
      {
        ...env,
        CONVEYOR_ASSUME_TTY: '1',
      },
      { stdin: 'y\n' },
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    // Only what changed: `repo` is the same, so it is not shown.
    expect(stdout).not.toContain('resource repo');
    const added = lines.indexOf('  resource other has been added:');
    expect(lines.slice(added - 1, added + 3)).toEqual([
      'resources:',
      '  resource other has been added:',
      '+ name: other',
      '+ type: mock',
    ]);
    const changed = lines.indexOf('  job unit has changed:');
    expect(changed).toBeGreaterThan(added);
    expect(lines[changed - 1]).toBe('jobs:');
    expect(lines).toContain('  name: unit');
    expect(lines.filter((l) => l.startsWith('- ') || l.startsWith('+ ')).slice(-2)).toEqual([
      '-           - hi',
      '+           - hello',
    ]);
    expect(stdout).toContain('pipeline name: app\n\napply configuration? [yN]: y\nconfiguration updated\n');
    expect(await storedConfig('app')).toEqual({ config: v2, version: 2 });
    expect(api.world.setConfigCalls.at(-1)).toMatchObject({ expectedVersion: 1 });
  });

  it('applies nothing when the answer is no, empty, or the input ends', async () => {
    await setDirectly('app', v1);
    const config = await file('pipeline.yml', v2);
    for (const answer of ['n\n', 'maybe\nno\n', '\n', '']) {
      const { code, stdout } = await cc(
        ['set-pipeline', '-p', 'app', '-c', config],
        {
          ...env,
          CONVEYOR_ASSUME_TTY: '1',
        },
        { stdin: answer },
      );
      expect(code, answer).toBe(0);
      expect(stdout, answer).toMatch(/bailing out\n$/);
      if (answer.startsWith('maybe')) expect(stdout).toContain('please answer y or n');
    }
    expect(await storedConfig('app')).toEqual({ config: v1, version: 1 });
  });

  it('refuses to ask when stdin is not a terminal, and names --non-interactive', async () => {
    const config = await file('pipeline.yml', v1);
    const calls = api.world.setConfigCalls.length;
    const { code, stdout, stderr } = await cc(['set-pipeline', '-p', 'app', '-c', config], env);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('stdin is not a terminal');
    expect(stderr).toContain('--non-interactive');
    expect(stderr).toContain('Code: CC_E_CLI_NOT_INTERACTIVE');
    expect(api.world.setConfigCalls).toHaveLength(calls);
  });

  it('says "no changes to apply" and sets nothing when the config is the same', async () => {
    await setDirectly('app', v1);
    const config = await file('pipeline.yml', v1);
    const calls = api.world.setConfigCalls.length;
    const { code, stdout } = await cc(['set-pipeline', '-p', 'app', '-c', config, '-n'], env);
    expect(code).toBe(0);
    expect(stdout).toBe('no changes to apply\n');
    expect(api.world.setConfigCalls).toHaveLength(calls);
  });

  it('refuses, with CC_E_CLI_CONFLICT, a config someone changed while the diff was on screen', async () => {
    await setDirectly('app', v1);
    const config = await file('pipeline.yml', v2);
    const running = startCc(['set-pipeline', '-p', 'app', '-c', config], {
      ...env,
      CONVEYOR_ASSUME_TTY: '1',
    });
    await running.waitFor(/apply configuration\? \[yN\]: $/);
    const theirs = v1.replace('initial_version: v1', 'initial_version: v9');
    await setDirectly('app', theirs);
    running.type('y\n');
    expect(await running.exited).toBe(1);
    expect(running.stderr()).toContain('pipeline "app" was changed by someone else');
    expect(running.stderr()).toContain('Code: CC_E_CLI_CONFLICT');
    expect(await storedConfig('app')).toEqual({ config: theirs, version: 2 });
  });

  it('prints the server’s validation problems one per line as file:line:column: path: message', async () => {
    await file('bad.yml', 'resourcez: []\njobs:\n  - plan: []\n');
    const { code, stdout, stderr } = await cc(['set-pipeline', '-p', 'app', '-c', 'bad.yml', '-n'], env, {
      cwd: home,
    });
    expect(code).toBe(1);
    expect(stdout).toContain('pipeline name: app');
    const lines = stderr.split('\n');
    expect(lines[0]).toBe('bad.yml:1:1: resourcez: is not a pipeline field');
    expect(lines[1]).toMatch(/^bad\.yml:3:\d+: jobs\[0\]\.name: name is required$/);
    expect(stderr).toContain('bad.yml is invalid (2 errors)');
    expect(stderr).toContain('Code: CC_E_CLI_PIPELINE_INVALID');
  });

  it('reports a YAML syntax error at its line without asking the server', async () => {
    await file('broken.yml', 'jobs:\n  - name: unit\n    plan: [\n');
    const calls = api.world.setConfigCalls.length;
    const { code, stderr } = await cc(['set-pipeline', '-p', 'app', '-c', 'broken.yml', '-n'], env, {
      cwd: home,
    });
    expect(code).toBe(1);
    expect(stderr.split('\n')[0]).toMatch(/^broken\.yml:\d+:\d+: is not valid YAML: /);
    expect(stderr).toContain('Code: CC_E_CLI_PIPELINE_INVALID');
    expect(api.world.setConfigCalls).toHaveLength(calls);
  });

  it('fails with CC_E_CLI_FILE_UNREADABLE naming a missing config file', async () => {
    const { code, stderr } = await cc(['set-pipeline', '-p', 'app', '-c', 'nope.yml', '-n'], env, {
      cwd: home,
    });
    expect(code).toBe(1);
    expect(stderr).toContain('cannot read nope.yml: ENOENT');
    expect(stderr).toContain('Code: CC_E_CLI_FILE_UNREADABLE');
  });
});

describe('cc pipelines, pause-pipeline, unpause-pipeline, destroy-pipeline', () => {
  it('lists the team’s pipelines, or every team’s with --all, as a table or JSON', async () => {
    await setDirectly('app', v1);
    api.world.addTeam('other');
    await api.world.services.pipelines.setConfig(
      { team: 'other', pipeline: 'theirs' },
      { config: v1, by: 'x' },
    );
    try {
      const table = await cc(['pipelines'], env);
      expect(table.code).toBe(0);
      const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
      expect(header).toMatch(/^NAME\s+PAUSED\s+PUBLIC\s+LAST UPDATED$/);
      expect(row).toMatch(/^app\s+yes\s+no\s+\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d[+-]\d{4}$/);
      expect(rest).toEqual([]);

      const all = await cc(['pipelines', '--all', '--json'], env);
      expect(all.code).toBe(0);
      const listed = JSON.parse(all.stdout) as Array<{ name: string; team_name: string }>;
      expect(listed.map((p) => `${p.team_name}/${p.name}`).sort()).toEqual(['main/app', 'other/theirs']);
      expect(listed[0]).toEqual(await api.world.services.pipelines.get({ team: 'main', pipeline: 'app' }));

      const allTable = await cc(['pipelines', '-a'], env);
      expect(allTable.stdout.split('\n')[0]).toMatch(/^NAME\s+TEAM\s+PAUSED/);
    } finally {
      await api.world.services.pipelines.delete({ team: 'other', pipeline: 'theirs' });
    }
  });

  it('pauses and unpauses a pipeline, printing the pipeline with --json', async () => {
    await setDirectly('app', v1);
    await api.world.services.pipelines.unpause({ team: 'main', pipeline: 'app' });
    const paused = await cc(['pause-pipeline', '-p', 'app'], env);
    expect(paused).toMatchObject({ code: 0, stdout: "paused 'app'\n" });
    expect((await api.world.services.pipelines.get({ team: 'main', pipeline: 'app' })).paused).toBe(true);

    const unpaused = await cc(['unpause-pipeline', '-p', 'app', '--json'], env);
    expect(unpaused.code).toBe(0);
    expect(JSON.parse(unpaused.stdout)).toMatchObject({ name: 'app', paused: false });
  });

  it('carries the server’s code when the pipeline does not exist, and refuses a malformed name', async () => {
    const missing = await cc(['pause-pipeline', '-p', 'nope', '--json'], env);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).error).toMatchObject({
      code: 'CC_E_CLI_API_ERROR',
      details: { status: 404, serverCode: 'CC_E_API_PIPELINE_NOT_FOUND' },
    });
    const malformed = await cc(['pause-pipeline', '-p', 'a/b'], env);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('Code: CC_E_CLI_USAGE');
  });

  it('destroys a pipeline after "are you sure?", or at once with -n', async () => {
    await setDirectly('app', v1);
    const interactive = { ...env, CONVEYOR_ASSUME_TTY: '1' };
    const declined = await cc(['destroy-pipeline', '-p', 'app'], interactive, { stdin: 'n\n' });
    expect(declined.code).toBe(0);
    expect(declined.stdout).toBe(
      '!!! this will remove all data for pipeline `app`\n\nare you sure? [yN]: n\nbailing out\n',
    );
    expect(await api.world.services.pipelines.list('main')).toHaveLength(1);

    const noTerminal = await cc(['destroy-pipeline', '-p', 'app'], env);
    expect(noTerminal.code).toBe(2);
    expect(noTerminal.stderr).toContain('CC_E_CLI_NOT_INTERACTIVE');

    const accepted = await cc(['destroy-pipeline', '-p', 'app'], interactive, { stdin: 'yes\n' });
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toMatch(/`app` deleted\n$/);
    expect(await api.world.services.pipelines.list('main')).toHaveLength(0);

    const again = await cc(['destroy-pipeline', '-p', 'app', '-n'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/`app` does not exist\n$/);
  });
});
