import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CcServer, ccCommand, startCcServer } from './cc-server.js';

const SECRET = 'tok-e2e-s3cr3t-value';

/** `cc set-pipeline --check-creds` against a `cc up` whose credential manager is the env plugin. */
describe('cc set-pipeline --check-creds, end to end', () => {
  let home: string;
  let server: CcServer;
  let cc: ReturnType<typeof ccCommand>;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'conveyor-e2e-check-creds-'));
    await chmod(home, 0o755);
    const env = { CONVEYOR_HOME: join(home, 'cli') };
    const config = join(home, 'conveyor.yaml');
    await writeFile(
      config,
      `runtime: { plugin: local, config: { root: ${join(home, 'containers')} } }
volumes: { driver: naive, config: { root: ${join(home, 'volumes')} } }
credentials: [{ manager: env, config: { prefix: E2E_CHECK_ } }]
`,
    );
    // The server's environment holds the credential; the CLI's does not.
    server = await startCcServer(['--data-dir', join(home, 'data'), '-c', config], {
      ...env,
      E2E_CHECK_MAIN_TOKEN: SECRET,
    });
    cc = ccCommand(env);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  const pipeline = (params: string) => `jobs:
  - name: deploy
    plan:
      - task: push
        config:
          platform: linux
          run: { path: sh, args: [-c, 'test -n "$TOKEN"'] }
          params: ${params}
`;

  it('refuses a pipeline whose vars do not all resolve, at file:line:column, and sets one whose vars do', async () => {
    const file = join(home, 'pipeline.yml');
    await writeFile(file, pipeline('{ TOKEN: ((token)), REGION: ((region)) }'));

    const refused = await cc('set-pipeline', '-p', 'app', '-c', file, '--check-creds', '-n');
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toContain(
      `${file}:8:47: jobs[0].plan[0].config.params.REGION: undefined var: ((region)) (asked: env@1.0.0)`,
    );
    // oclif folds the error's lines at 80 columns.
    const said = refused.stderr.replace(/\s*\n ›\s+/g, ' ');
    expect(said).toContain('uses vars the server cannot resolve (1 error); nothing was set');
    expect(refused.stderr).toContain('CC_E_CLI_CREDS_MISSING');
    expect(refused.stderr).not.toContain('((token))');
    expect(refused.stdout + refused.stderr + server.output()).not.toContain(SECRET);
    const listed = await cc('pipelines', '--json');
    expect(JSON.parse(listed.stdout)).toEqual([]);

    // A static var fills what the managers lack; the credential is found and never printed.
    const set = await cc('set-pipeline', '-p', 'app', '-c', file, '--check-creds', '-v', 'region=eu', '-n');
    expect(set.code, set.stdout + set.stderr).toBe(0);
    expect(set.stdout + set.stderr + server.output()).not.toContain(SECRET);
    expect(JSON.parse((await cc('pipelines', '--json')).stdout)).toMatchObject([{ name: 'app' }]);
  }, 120_000);
});
