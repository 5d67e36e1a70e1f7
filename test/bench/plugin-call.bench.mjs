// Round trip of a trivial plugin call through the plugin host (request validation, piscina,
// the plugin worker, reply validation) next to the raw floor: a worker_threads MessagePort echo,
// measured in the same run on the same machine.
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker } from 'node:worker_threads';
import { PluginHost } from '@conveyor/core/plugins';
import { fmt, ratio, sample, summarise } from './stats.mjs';

const fixtures = fileURLToPath(new URL('../fixtures/plugins/', import.meta.url));
const WARMUP = 2_000;
const N = 20_000;

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
  const roundTrip = (i) =>
    new Promise((r) => {
      resolve = r;
      port1.postMessage({ method: 'lookup', params: { team: 'main', path: `p${i}` } });
    });
  await sample(WARMUP, roundTrip);
  const times = await sample(N, roundTrip);
  await worker.terminate();
  return summarise(times);
}

async function hostCall() {
  const host = await PluginHost.create({ builtinDirs: [`${fixtures}echo-v2`] });
  const echo = host.client('credentials', 'echo');
  const call = (i) => echo.call('lookup', { team: 'main', path: `p${i}` });
  await sample(WARMUP, call);
  const times = await sample(N, call);
  await host.close();
  return summarise(times);
}

export default async function run() {
  // Alternate so neither side always runs on a warmer machine.
  const raw = await rawEcho();
  const ours = await hostCall();
  const raw2 = await rawEcho();
  const base = { median: Math.min(raw.median, raw2.median), p99: Math.min(raw.p99, raw2.p99) };
  return {
    title: 'Plugin call round trip (trivial credentials lookup, sequential)',
    rows: [
      ['raw worker_threads MessagePort echo', fmt(base.median), fmt(base.p99), '1.00×'],
      [
        'PluginHost call (validate, piscina, worker, validate)',
        fmt(ours.median),
        fmt(ours.p99),
        ratio(ours.median, base.median),
      ],
    ],
    columns: ['what', 'median', 'p99', 'median vs raw'],
    ratio: ours.median / base.median,
    target: 1.5,
  };
}
