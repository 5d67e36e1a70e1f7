// Small helpers shared by the benchmarks: timing samples and summarising them.

/** Run `fn` `n` times one after another; returns each run's duration in microseconds. */
export async function sample(n, fn) {
  const times = new Array(n);
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    await fn(i);
    times[i] = Number(process.hrtime.bigint() - start) / 1000;
  }
  return times;
}

export function summarise(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    n: sorted.length,
    median: at(0.5),
    p99: at(0.99),
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

export const fmt = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
export const ratio = (ours, base) => `${(ours / base).toFixed(2)}×`;
