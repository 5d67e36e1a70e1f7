import { describe, expect, it } from 'vitest';
import { cc } from './helpers.js';

describe('cc help', () => {
  it('lists the commands and topics', async () => {
    const { code, stdout } = await cc(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('$ cc [COMMAND]');
    for (const line of [
      /login\s+Save a server and its token as a target\./,
      /targets\s+List the saved targets\./,
      /up\s+Start a Conveyor server in this process\./,
      /plugin\s+List and manage plugins/,
    ]) {
      expect(stdout).toMatch(line);
    }
  });

  it('lists the pipeline commands, with fly’s names, and hides fly’s short aliases', async () => {
    const { stdout } = await cc(['--help']);
    for (const command of [
      'set-pipeline',
      'validate-pipeline',
      'format-pipeline',
      'get-pipeline',
      'pipelines',
      'pause-pipeline',
      'unpause-pipeline',
      'destroy-pipeline',
      'jobs',
      'pause-job',
      'unpause-job',
      'trigger-job',
      'watch',
      'builds',
      'abort-build',
      'rerun-build',
      'resources',
      'resource-versions',
      'check-resource',
      'pin-resource',
      'unpin-resource',
      'disable-resource-version',
      'enable-resource-version',
      'execute',
    ]) {
      expect(stdout).toMatch(new RegExp(`^  ${command}\\s`, 'm'));
    }
    for (const alias of ['sp', 'gp', 'pj', 'uj', 'drv', 'erv']) {
      expect(stdout).not.toMatch(new RegExp(`^  ${alias}\\s`, 'm'));
    }
    const alias = await cc(['sp', '--help']);
    expect(alias.stdout).toContain('Create or update a pipeline from its config file.');
  });

  it('runs the new commands under fly’s short aliases', async () => {
    for (const [alias, summary] of [
      ['gp', "Print a pipeline's config as it was last set."],
      ['pj', 'Pause a job: the scheduler starts no new builds of it.'],
      ['uj', 'Unpause a job: the scheduler starts its builds again.'],
      ['drv', 'Disable a version of a resource, so no job uses it.'],
      ['erv', 'Enable a version of a resource disabled with `cc disable-resource-version`.'],
    ] as const) {
      const { code, stdout } = await cc([alias, '--help']);
      expect(code).toBe(0);
      expect(stdout.replace(/\s+/g, ' ')).toContain(summary);
    }
  });

  it('documents watch’s exit codes and the P/J form of its job flag', async () => {
    const { code, stdout } = await cc(['watch', '--help']);
    expect(code).toBe(0);
    expect(stdout.replace(/\s+/g, ' ')).toContain('0 succeeded, 1 failed, 2 errored, 3 aborted');
    expect(stdout).toContain('-j, --job=<PIPELINE/JOB>');
  });

  it('documents plugin list: its flags, globals, and examples', async () => {
    const { code, stdout } = await cc(['plugin', 'list', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('$ cc plugin list [--json] [-t <value>] [--url <value>] [--token <value>]');
    expect(stdout).toMatch(/-t, --target=<value>\s+\[env: CONVEYOR_TARGET\]/);
    expect(stdout).toMatch(/--url=<value>\s+\[env: CONVEYOR_URL\]/);
    expect(stdout).toMatch(/--token=<value>\s+\[env: CONVEYOR_TOKEN\]/);
    expect(stdout).toContain('--json');
    expect(stdout).toContain('$ cc plugin list -t ci --json');
  });

  it('documents up and login with their own flags', async () => {
    const up = await cc(['up', '--help']);
    expect(up.code).toBe(0);
    for (const flag of ['--data-dir=<value>', '--port=<value>', '--host=<value>', '-c, --config=<value>']) {
      expect(up.stdout).toContain(flag);
    }
    expect(up.stdout).toContain('admin token');

    const login = await cc(['login', '--help']);
    expect(login.code).toBe(0);
    expect(login.stdout).toMatch(/--url=<value>\s+\(required\)/);
    expect(login.stdout).toMatch(/--token=<value>\s+\(required\)/);
    expect(login.stdout).toContain('$ cc login --url https://ci.example.com');
  });

  it('exits 2 with CC_E_CLI_USAGE on an unknown flag', async () => {
    const { code, stderr } = await cc(['targets', '--no-such-flag']);
    expect(code).toBe(2);
    expect(stderr).toContain('CC_E_CLI_USAGE');
    expect(stderr).toContain('--no-such-flag');
  });
});
