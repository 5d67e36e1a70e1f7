/**
 * The download progress renderer and the plugin index's pure parts, on their output strings: a
 * fake stream and a clock the test moves by hand, so nothing here waits or measures time.
 */
import { describe, expect, it } from 'vitest';
import {
  closeNames,
  DownloadProgress,
  editDistance,
  encodeIndex,
  formatBytes,
  parseIndex,
  renderBlobDone,
  renderProgressBar,
} from '../src/plugin-dist/index.js';

const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
const label = 'plugins/git@sha256:0123456789ab';

/** A stream that keeps what is written, and a clock the test sets. */
function harness(live: boolean, columns?: number) {
  const writes: string[] = [];
  let now = 0;
  const progress = new DownloadProgress({
    stream: { write: (text: string) => writes.push(text), ...(columns === undefined ? {} : { columns }) },
    live,
    now: () => now,
  });
  return {
    progress,
    writes,
    at: (ms: number) => {
      now = ms;
    },
    blob: (received: number, total = 4096) =>
      progress.onBlob({ repository: 'plugins/git', digest, received, total }),
  };
}

describe('formatBytes', () => {
  it('uses bytes below a KiB and one decimal above', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
  });
});

describe('renderProgressBar', () => {
  it('draws the bar, the percentage, bytes done and total, and the rate', () => {
    expect(renderProgressBar({ label, received: 1024, total: 4096, elapsedMs: 500 })).toBe(
      `  ${label} [######------------------]  25%  1.0 KiB/4.0 KiB  2.0 KiB/s`,
    );
    expect(renderProgressBar({ label, received: 0, total: 4096, elapsedMs: 0 })).toBe(
      `  ${label} [------------------------]   0%  0 B/4.0 KiB`,
    );
    expect(renderProgressBar({ label, received: 4096, total: 4096, elapsedMs: 2000 }, 10)).toBe(
      `  ${label} [##########] 100%  4.0 KiB/4.0 KiB  2.0 KiB/s`,
    );
  });

  it('shortens the label from the left to fit the terminal', () => {
    const line = renderProgressBar({ label, received: 1024, total: 4096, elapsedMs: 500, columns: 70 });
    expect(line).toBe('  …6789ab [######------------------]  25%  1.0 KiB/4.0 KiB  2.0 KiB/s');
    expect(line.length).toBeLessThan(70);
    expect(renderProgressBar({ label, received: 1024, total: 4096, elapsedMs: 500, columns: 200 })).toContain(
      `  ${label} [`,
    );
  });
});

describe('renderBlobDone', () => {
  it('says the size, the time and the rate', () => {
    expect(renderBlobDone({ label, total: 3 * 1024 * 1024, elapsedMs: 1500 })).toBe(
      `  ${label} 3.0 MiB in 1.5s (2.0 MiB/s)`,
    );
    expect(renderBlobDone({ label, total: 187, elapsedMs: 0 })).toBe(`  ${label} 187 B`);
  });
});

describe('DownloadProgress', () => {
  it('on a terminal, redraws one bar in place at most every 100 ms and leaves a summary line', () => {
    const { writes, at, blob } = harness(true);
    at(0);
    blob(0);
    at(40);
    blob(1024); // too soon after the last draw: skipped
    at(100);
    blob(2048);
    at(150);
    blob(3072); // skipped
    at(400);
    blob(4096);
    expect(writes).toEqual([
      `\r\u001b[K  ${label} [------------------------]   0%  0 B/4.0 KiB`,
      `\r\u001b[K  ${label} [############------------]  50%  2.0 KiB/4.0 KiB  20.0 KiB/s`,
      `\r\u001b[K  ${label} 4.0 KiB in 0.4s (10.0 KiB/s)\n`,
    ]);
  });

  it('puts a log line above the bar being drawn and redraws the bar below it', () => {
    const { progress, writes, at, blob } = harness(true);
    at(0);
    blob(0);
    at(200);
    progress.log('warning: something');
    expect(writes.slice(1)).toEqual([
      '\r\u001b[Kwarning: something\n',
      `\r\u001b[K  ${label} [------------------------]   0%  0 B/4.0 KiB  0 B/s`,
    ]);
  });

  it('ends a bar left unfinished on its own line', () => {
    const { progress, writes, at, blob } = harness(true);
    at(0);
    blob(0);
    progress.finish();
    expect(writes.at(-1)).toBe('\n');
    progress.log('next');
    expect(writes.at(-1)).toBe('next\n');
  });

  it('elsewhere, prints one plain line per finished blob and no control characters', () => {
    const { progress, writes, at, blob } = harness(false);
    at(0);
    blob(0);
    at(10);
    blob(1024);
    progress.log('downloading git@1.0.0');
    at(250);
    blob(4096);
    progress.onBlob({ repository: 'plugins/git', digest: `sha256:${'f'.repeat(64)}`, received: 0, total: 0 });
    expect(writes).toEqual([
      'downloading git@1.0.0\n',
      `  ${label} 4.0 KiB in 0.3s (16.0 KiB/s)\n`,
      `  plugins/git@sha256:ffffffffffff 0 B\n`,
    ]);
    expect(writes.join('')).not.toContain('\r');
  });
});

describe('the plugin index document', () => {
  it('encodes names sorted, so the same content has the same bytes', () => {
    const a = encodeIndex({
      schemaVersion: 1,
      plugins: { time: { repository: 'acme/time' }, git: { repository: 'acme/git', description: 'Git' } },
    });
    const b = encodeIndex({
      schemaVersion: 1,
      plugins: { git: { repository: 'acme/git', description: 'Git' }, time: { repository: 'acme/time' } },
    });
    expect(a.equals(b)).toBe(true);
    expect(parseIndex(a, 'test')).toEqual({
      schemaVersion: 1,
      plugins: { git: { repository: 'acme/git', description: 'Git' }, time: { repository: 'acme/time' } },
    });
  });

  it('refuses what is not an index, naming the problem', () => {
    const bad = (json: unknown) => () => parseIndex(Buffer.from(JSON.stringify(json)), 'r/index:latest');
    expect(bad({ plugins: {} })).toThrow(/expected \{ "schemaVersion": 1/);
    expect(bad({ schemaVersion: 1, plugins: { Git: { repository: 'a/b' } } })).toThrow(/not a plugin name/);
    expect(bad({ schemaVersion: 1, plugins: { git: { repository: '../b' } } })).toThrow(
      /not a repository path/,
    );
    expect(() => parseIndex(Buffer.from('{'), 'r/index:latest')).toThrow(/not JSON/);
  });
});

describe('closeNames', () => {
  const names = ['git', 'github-release', 'time', 'semver', 'registry-image', 'mock'];
  it('suggests names within a small edit distance, or that contain the name', () => {
    expect(editDistance('gti', 'git')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(closeNames('gti', names)).toEqual(['git']);
    expect(closeNames('github', names)).toEqual(['git', 'github-release']);
    expect(closeNames('smever', names)).toEqual(['semver']);
    expect(closeNames('registry', names)).toEqual(['registry-image']);
    expect(closeNames('tim', names)).toEqual(['time']);
    expect(closeNames('zzzzzz', names)).toEqual([]);
  });
});
