import type { TestProject } from 'vitest/node';
import { startTestPostgres } from './postgres.js';

// vitest global setup: starts the real components every suite shares (see test/harness/) and
// hands their addresses to the tests through provide/inject.
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgres = await startTestPostgres();
  project.provide('postgresAdminUrl', postgres.adminUrl);
  return async () => {
    await postgres.stop();
  };
}
