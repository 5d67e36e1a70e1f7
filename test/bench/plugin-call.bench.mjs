// Round trip of a trivial plugin call through the plugin host (request validation, piscina,
// the plugin worker, reply validation) next to the raw floor: a worker_threads MessagePort echo,
// measured in the same run on the same machine. The two alternate in rounds so that neither
// side always runs while the machine is busier.
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { PluginHost } from '@conveyor/core/plugins';
import { fmt, ratio, sample, summarise } from './stats.mjs';

const fixtures = fileURLToPath(new URL('../fixtures/plugins/', import.meta.url));
const WARMUP = 3_000;
const ROUNDS = 6;
const PER_ROUND = 4_000;

async function rawEcho() {
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.once('message', (port) => port.on('message', (m) => port.postMessage(m)));`,
    { eval: true },
  );
  const { port1, port2 } = new MessageChannel();
  worker.postMessage(port2, [port2]);
  let resolve;
  port1.on('message', (m) => resolve(m));
  const call = (i) =>
    new Promise((r) => {
      resolve = r;
      port1.postMessage({ method: 'lookup', params: { team: 'main', path: `p${i}` } });
    });
  return { call, close: () => worker.terminate() };
}

async function hostCall() {
  const host = await PluginHost.create({ builtinDirs: [`${fixtures}echo-v2`] });
  const echo = host.client('credentials', 'echo');
  return { call: (i) => echo.call('lookup', { team: 'main', path: `p${i}` }), close: () => host.close() };
}

export default async function run() {
  const raw = await rawEcho();
  const ours = await hostCall();
  await sample(WARMUP, raw.call);
  await sample(WARMUP, ours.call);
  const rawTimes = [];
  const ourTimes = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [raw, ours] : [ours, raw];
    for (const side of order)
      (side === raw ? rawTimes : ourTimes).push(...(await sample(PER_ROUND, side.call)));
  }
  await raw.close();
  await ours.close();
  const base = summarise(rawTimes);
  const host = summarise(ourTimes);
  return {
    title: `Plugin call round trip (trivial credentials lookup, sequential, ${ROUNDS}×${PER_ROUND} calls each)`,
    columns: ['what', 'median', 'p99', 'median vs raw'],
    rows: [
      ['raw worker_threads MessagePort echo', fmt(base.median), fmt(base.p99), '1.00×'],
      [
        'PluginHost call (validate, piscina, worker, validate)',
        fmt(host.median),
        fmt(host.p99),
        ratio(host.median, base.median),
      ],
    ],
    ratio: host.median / base.median,
    target: 1.5,
  };
}
