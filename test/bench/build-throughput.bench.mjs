// Throughput of many trivial one-step builds (a task running `true`) across many pipelines,
// through the whole machine — trigger, input resolution, claim with lease, plan compile, executor,
// local runtime, events, finish — next to the floor: a raw `FOR UPDATE SKIP LOCKED`
// claim-and-complete loop over the same number of rows on the same Postgres, with as many
// concurrent claimers as the build runner runs builds (BENCH_CONCURRENCY, default 16: the default
// `builds.concurrency`).
import { spawn } from 'node:child_process';
import pg from 'pg';
import { benchServer } from './server-harness.mjs';

const PIPELINES = Number(process.env.BENCH_PIPELINES ?? 100);
const BUILDS_PER_PIPELINE = Number(process.env.BENCH_BUILDS_PER_PIPELINE ?? 50);
const TOTAL = PIPELINES * BUILDS_PER_PIPELINE;
/** Builds the server runs at once (`builds.concurrency`), and claimers in the raw loop: the same. */
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

async function rawClaimLoop(databaseUrl) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: CONCURRENCY + 1 });
  await pool.query(
    'CREATE TABLE bench_jobs (id bigserial PRIMARY KEY, status text NOT NULL, done_at timestamptz)',
  );
  await pool.query(`INSERT INTO bench_jobs (status) SELECT 'pending' FROM generate_series(1, $1)`, [TOTAL]);
  const start = performance.now();
  const worker = async () => {
    const client = await pool.connect();
    try {
      for (;;) {
        await client.query('BEGIN');
        const { rows } = await client.query(
          `SELECT id FROM bench_jobs WHERE status = 'pending' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`,
        );
        if (rows.length === 0) {
          await client.query('COMMIT');
          return;
        }
        await client.query(`UPDATE bench_jobs SET status = 'started' WHERE id = $1`, [rows[0].id]);
        await client.query('COMMIT');
        await client.query(`UPDATE bench_jobs SET status = 'done', done_at = now() WHERE id = $1`, [
          rows[0].id,
        ]);
      }
    } finally {
      client.release();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - start) / 1000;
  await pool.query('DROP TABLE bench_jobs');
  await pool.end();
  return TOTAL / seconds;
}

/**
 * The ceiling for anything that runs one process per build on this machine: starting `true` and
 * waiting for it, its stdout and stderr on pipes as a runtime reads them, CONCURRENCY at a time —
 * no database, no events, nothing else. From a small Node process of its own, as the local
 * runtime's launcher starts step processes (forking a large process costs more).
 */
async function rawSpawnLoop() {
  const count = Math.min(TOTAL, 3000);
  const loop = `
    const { spawn } = require('node:child_process');
    let next = 0;
    const start = performance.now();
    const worker = async () => {
      while (next++ < ${count}) {
        await new Promise((resolve, reject) => {
          const child = spawn('true', [], { stdio: ['ignore', 'pipe', 'pipe'] });
          child.on('error', reject);
          child.on('close', resolve);
        });
      }
    };
    Promise.all(Array.from({ length: ${CONCURRENCY} }, worker)).then(() =>
      console.log(${count} / ((performance.now() - start) / 1000)));`;
  const output = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--max-old-space-size=64', '-e', loop], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (chunk) => {
      text += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`spawn loop exited ${code}`)),
    );
  });
  return Number(output.trim());
}

async function conveyorBuilds(api, databaseUrl) {
  for (let p = 0; p < PIPELINES; p++) {
    await api('PUT', `/teams/main/pipelines/p${p}/config`, {
      config: `jobs:
  - name: j
    plan:
      - task: t
        config:
          platform: linux
          run: { path: 'true' }
`,
    });
    await api('PUT', `/teams/main/pipelines/p${p}/unpause`);
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const start = performance.now();
  for (let round = 0; round < BUILDS_PER_PIPELINE; round++) {
    await Promise.all(
      Array.from({ length: PIPELINES }, (_, p) => api('POST', `/teams/main/pipelines/p${p}/jobs/j/builds`)),
    );
  }
  for (;;) {
    const { rows } = await pool.query(
      `SELECT count(*)::int AS done, count(*) FILTER (WHERE status <> 'succeeded')::int AS bad
       FROM builds WHERE status IN ('succeeded', 'failed', 'errored', 'aborted')`,
    );
    if (rows[0].done >= TOTAL) {
      if (rows[0].bad > 0) throw new Error(`${rows[0].bad} builds did not succeed`);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const seconds = (performance.now() - start) / 1000;
  await pool.end();
  return TOTAL / seconds;
}

export default async function run() {
  const { server, api, close } = await benchServer({
    env: { CONVEYOR_BUILDS_CONCURRENCY: String(CONCURRENCY) },
  });
  const raw = await rawClaimLoop(server.databaseUrl);
  const spawned = await rawSpawnLoop();
  const ours = await conveyorBuilds(api, server.databaseUrl);
  const floor = 1 / (1 / raw + 1 / spawned);
  await close();
  return {
    title: `Build throughput: ${TOTAL} trivial one-step builds across ${PIPELINES} pipelines`,
    columns: ['what', 'per second', 'vs raw'],
    rows: [
      [
        `raw FOR UPDATE SKIP LOCKED claim-and-complete loop (${CONCURRENCY} claimers)`,
        raw.toFixed(0),
        '1.00×',
      ],
      [
        `ceiling: raw spawn of \`true\` from Node, nothing else (${CONCURRENCY} at a time)`,
        spawned.toFixed(0),
        `${(spawned / raw).toFixed(3)}×`,
      ],
      [
        // Both on the same 2 cores: a build that did nothing but one claim-and-complete and start
        // one process costs the CPU of both, so its rate is their harmonic combination.
        'ceiling: one claim-and-complete + one process start per build, nothing else',
        floor.toFixed(0),
        `${(floor / raw).toFixed(3)}×`,
      ],
      [
        `Conveyor builds (trigger → claim → task \`true\` → finished; builds.concurrency ${CONCURRENCY})`,
        ours.toFixed(1),
        `${(ours / raw).toFixed(3)}×`,
      ],
    ],
    ratio: ours / raw,
    target: 0.5,
    higherIsBetter: true,
  };
}
