/** One line of a diff: kept, added or removed. */
export interface DiffLine {
  op: ' ' | '+' | '-';
  text: string;
}

/** Beyond this many cells the table would cost more than it shows: fall back to remove-all, add-all. */
const kMaxCells = 4_000_000;

/**
 * A line diff by longest common subsequence: the fewest added and removed lines, removals before
 * additions where both happen at one place, as `diff -u` orders them.
 */
export function diffLines(before: readonly string[], after: readonly string[]): DiffLine[] {
  // Common head and tail first: most edits are small, and this keeps the table small too.
  let head = 0;
  while (head < before.length && head < after.length && before[head] === after[head]) head++;
  let tail = 0;
  while (
    tail < before.length - head &&
    tail < after.length - head &&
    before[before.length - 1 - tail] === after[after.length - 1 - tail]
  ) {
    tail++;
  }
  const a = before.slice(head, before.length - tail);
  const b = after.slice(head, after.length - tail);
  const kept = (lines: readonly string[]) => lines.map((text): DiffLine => ({ op: ' ', text }));
  return [...kept(before.slice(0, head)), ...middle(a, b), ...kept(before.slice(before.length - tail))];
}

function middle(a: readonly string[], b: readonly string[]): DiffLine[] {
  const removed = a.map((text): DiffLine => ({ op: '-', text }));
  const added = b.map((text): DiffLine => ({ op: '+', text }));
  if (a.length === 0 || b.length === 0 || (a.length + 1) * (b.length + 1) > kMaxCells) {
    return [...removed, ...added];
  }
  // lcs[i][j]: the length of the longest common subsequence of a[i..] and b[j..].
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * width + j] =
        a[i] === b[j]
          ? (lcs[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(lcs[(i + 1) * width + j] ?? 0, lcs[i * width + j + 1] ?? 0);
    }
  }
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      lines.push({ op: ' ', text: a[i] ?? '' });
      i++;
      j++;
    } else if ((lcs[(i + 1) * width + j] ?? 0) >= (lcs[i * width + j + 1] ?? 0)) {
      lines.push({ op: '-', text: a[i] ?? '' });
      i++;
    } else {
      lines.push({ op: '+', text: b[j] ?? '' });
      j++;
    }
  }
  for (; i < a.length; i++) lines.push({ op: '-', text: a[i] ?? '' });
  for (; j < b.length; j++) lines.push({ op: '+', text: b[j] ?? '' });
  return lines;
}
