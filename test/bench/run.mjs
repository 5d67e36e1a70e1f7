#!/usr/bin/env node
// Runs every test/bench/*.bench.mjs (or those named on the command line) and prints each one's
// figures next to the raw baseline it measured in the same run.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.includes(w)))
  .sort();

console.log(`Conveyor benchmarks — node ${process.version}, ${new Date().toISOString()}`);
for (const file of files) {
  const { default: bench } = await import(`${dir}${file}`);
  const result = await bench();
  console.log(`\n## ${result.title}\n`);
  const widths = result.columns.map((c, i) =>
    Math.max(c.length, ...result.rows.map((r) => String(r[i]).length)),
  );
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  console.log(line(result.columns));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const row of result.rows) console.log(line(row));
  if (result.target !== undefined) {
    // Most ratios are costs (lower is better); throughputs say higherIsBetter.
    const ok = result.higherIsBetter ? result.ratio >= result.target : result.ratio <= result.target;
    const bound = result.higherIsBetter ? '≥' : '≤';
    console.log(
      `\nratio ${result.ratio.toFixed(3)}× (target ${bound} ${result.target}×): ${ok ? 'met' : 'NOT met'}`,
    );
  }
}
