import { afterAll, beforeAll, describe, it } from 'vitest';
import { type GitScenario, startGitScenario } from './git-scenario.js';

describe('a git pipeline, end to end through cc (local runtime, naive volumes)', () => {
  let scenario: GitScenario;

  beforeAll(async () => {
    scenario = await startGitScenario();
  }, 120_000);

  afterAll(async () => {
    await scenario?.stop();
  });

  it('runs A on a new commit, B on the version A passed, pushes back, and keeps history across a restart', async () => {
    await scenario.runPipeline();
  }, 240_000);
});
